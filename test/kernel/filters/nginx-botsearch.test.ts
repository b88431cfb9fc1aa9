// The nginx-botsearch filter against a real nginx 1.22 in fw: curl in attacker (and raw-http.mjs for
// request lines curl will not send) asks for the paths scanners try, over IPv4 and IPv6, with the
// innocent addresses (and whole forged access-log lines) in the Host header, the path, the User-Agent,
// the Referer and the basic-auth user; a good client asks for pages that exist and for a few that do not
// but are no probes. `xtban scan` over the access log as written (nginx's combined format) and over
// what rsyslog and journald would keep of the same lines sent to syslog.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  basicAuth,
  captureFixtures,
  curl,
  type Daemon,
  GOOD_CLIENT,
  INNOCENT,
  openDir,
  rawHttp,
  type ScanResult,
  scan,
  startNginx,
  startSyslogReceiver,
  type SyslogReceiver,
  waitForLines,
  writeSyslogForms,
} from '../helpers/daemons-web.js';
import { createTopology, describeKernel, type Topology } from '../helpers/netns.js';
import { workDir } from '../helpers/work.js';

const work = workDir('nginx-botsearch');
const dir = join(work, 'nginx');
const accessLog = join(dir, 'access.log');
const errorLog = join(dir, 'error.log');
const forms = join(work, 'forms');
const syslogFile = join(forms, 'syslog.log');
const journalFile = join(forms, 'journal.json');

// What scanners ask for; nginx answers each with 404 (the site has none of them).
const PROBES = [
  '/wp-login.php',
  '/wp-login.php?action=register',
  '/wp-admin/setup-config.php',
  '/wordpress/wp-login.php',
  '/wp-config.php.bak',
  '/.env',
  '/backend/.env',
  '/.env.production',
  '/.git/config',
  '/.aws/credentials',
  '/phpmyadmin/',
  '/phpMyAdmin-5.2.1/index.php',
  '/pma/',
  '/myadmin/scripts/setup.php',
  '/cgi-bin/luci',
  '/admin.php',
  '/HNAP1/',
  '/boaform/admin/formLogin',
  '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php',
];
// A forged access-log line: what an attacker would like the scan to read.
const FORGED = `${INNOCENT.ipv4} - - [03/Dec/2026:07:01:59 +0000] "GET /wp-login.php HTTP/1.1" 404 0 "-" "-"`;

function sorted(result: ScanResult): string[] {
  return result.addresses.map((entry) => entry.address).sort();
}

describeKernel('nginx-botsearch filter against a real nginx', () => {
  let topology: Topology;
  let receiver: SyslogReceiver | undefined;
  let nginx: Daemon | undefined;
  let probesV4 = 0;
  let probesV6 = 0;

  beforeAll(async () => {
    openDir(work);
    topology = await createTopology('nginxbots');
    await topology.addAttackerAddresses([GOOD_CLIENT]);
    receiver = await startSyslogReceiver(topology, work);
    const html = join(dir, 'html');
    openDir(html);
    writeFileSync(join(html, 'index.html'), 'hello\n', { mode: 0o644 });
    nginx = await startNginx(topology, dir, {
      syslog: { socket: receiver.socket, logs: ['access'] },
      http: [
        '  server {',
        '    listen 80;',
        '    listen [::]:80;',
        '    server_name localhost;',
        `    root ${html};`,
        // What administrators write for a path only scanners ask for: close without an answer.
        '    location = /xmlrpc.php { return 444; }',
        '  }',
      ].join('\n'),
    });

    const { fw } = topology.addresses;
    const v4 = `http://${fw.ipv4}`;
    const v6 = `http://[${fw.ipv6}]`;
    const probe = async (url: string, args: readonly string[] = [], status = 404): Promise<void> => {
      expect(await curl(topology, url, args), url).toBe(status);
      if (url.startsWith(v6)) probesV6++;
      else probesV4++;
    };
    for (const path of PROBES) await probe(`${v4}${path}`);
    await probe(`${v4}/wp-login.php`, ['-I']);
    await probe(`${v4}/wp-login.php`, ['-d', 'log=admin&pwd=admin']);
    // 444: nginx closes the connection, curl sees no answer at all.
    await probe(`${v4}/xmlrpc.php`, [], 0);
    await probe(`${v4}/xmlrpc.php`, ['-d', '<methodCall/>'], 0);
    await probe(`${v6}/wp-login.php`);
    await probe(`${v6}/.env`);
    // The injections, each on a probe: every field the client writes.
    await probe(`${v4}/.env`, ['-H', `Host: ${INNOCENT.ipv4}`]);
    await probe(`${v4}/.git/config`, ['-A', FORGED]);
    await probe(`${v4}/phpmyadmin/`, ['-e', FORGED]);
    await probe(`${v4}/wp-login.php`, ['-H', basicAuth(INNOCENT.ipv4, 'x')]);
    await probe(`${v4}/wp-login.php`, ['-H', basicAuth(`${INNOCENT.ipv4} - - [03/Dec/2026`, 'x')]);
    await probe(`${v4}/wp-login.php?a="${INNOCENT.ipv4}"`, ['-H', `Host: [${INNOCENT.ipv6}]`]);
    // HTTP/0.9: a request line without a version is still a request.
    expect(await rawHttp(topology, fw.ipv4, 80, 'GET /wp-login.php\r\n')).toBe('<html>');
    probesV4++;
    // A newline in the request line: nginx reads "GET /x" as HTTP/0.9 and drops the rest.
    expect(await rawHttp(topology, fw.ipv4, 80, `GET /x\n${FORGED}\r\n\r\n`)).toBe('<html>');
    // Spaces in the path: nginx 1.22 answers 400, which is no probe's 404.
    expect(await rawHttp(topology, fw.ipv4, 80, `GET /.env ${FORGED} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`)).toBe('HTTP/1.1 400 Bad Request');
    // The path nginx's error log writes before the address: decoded, '"' and spaces and all.
    expect(await curl(topology, `${v4}/wp-login.php%22,%20client:%20${INNOCENT.ipv4},%20server:%20y`)).toBe(404);
    // The good client: pages that exist, and misses that are no probes.
    for (const path of ['/', '/index.html']) expect(await curl(topology, `${v4}${path}`, [], GOOD_CLIENT)).toBe(200);
    for (const path of ['/favicon.ico', '/robots.txt', '/docs/wp-login.php.html', '/blog/how-to-hide-wp-admin', '/.well-known/security.txt']) {
      expect(await curl(topology, `${v4}${path}`, [], GOOD_CLIENT)).toBe(404);
    }

    await waitForLines(accessLog, /^192\.0\.2\.2 - .*" (?:404|444) /, probesV4);
    await waitForLines(accessLog, `${GOOD_CLIENT} - - [`, 7);
    await nginx.stop();
    nginx = undefined;
    mkdirSync(forms, { recursive: true });
    writeSyslogForms(receiver as SyslogReceiver, 0, forms);
    captureFixtures('nginx-botsearch', {
      'access.log': accessLog,
      'error.log': errorLog,
      'syslog.log': syslogFile,
      'journal.json': journalFile,
      'datagrams.jsonl': join(forms, 'datagrams.jsonl'),
    });
  }, 120_000);
  afterAll(async () => {
    await nginx?.stop();
    await receiver?.stop();
    await topology?.destroy();
  });

  it('escapes quotes and control characters in the access log but not spaces; the error log writes the path raw before the address', () => {
    const access = readFileSync(accessLog, 'utf8');
    const escaped = FORGED.replaceAll('"', '\\x22');
    expect(access).toContain(`"-" "${escaped}"\n`);
    expect(access).toContain(`"${escaped}" "curl/`);
    expect(access).toContain(`192.0.2.2 - ${INNOCENT.ipv4} [`);
    expect(access).toContain(`192.0.2.2 - ${INNOCENT.ipv4} - - [03/Dec/2026 [`);
    expect(access).toContain(`"GET /wp-login.php?a=\\x22${INNOCENT.ipv4}\\x22 HTTP/1.1" 404 `);
    expect(access).toMatch(/"GET \/wp-login\.php" 404 /);
    expect(access).toMatch(/"GET \/x" 404 /);
    expect(access).not.toContain(`\n${INNOCENT.ipv4} `);
    expect(access).toContain(`"GET /.env ${escaped} HTTP/1.1" 400 `);
    expect(access).toMatch(/"GET \/xmlrpc\.php HTTP\/1\.1" 444 0 /);
    const error = readFileSync(errorLog, 'utf8');
    expect(error).toMatch(
      new RegExp(
        `open\\(\\) "[^"]*/wp-login\\.php", client: ${INNOCENT.ipv4.replaceAll('.', '\\.')}, server: y" failed \\(2: No such file or directory\\), client: 192\\.0\\.2\\.2, `,
      ),
    );
  });

  it("counts the attacker's probes answered 404 or 444, never an innocent address, never the good client's misses", async () => {
    const result = await scan(topology, 'nginx-botsearch', [accessLog]);
    expect(sorted(result), readFileSync(accessLog, 'utf8')).toEqual(['192.0.2.2', '2001:db8::2']);
    expect(result.wouldBan.map((entry) => entry.address).sort()).toEqual(['192.0.2.2', '2001:db8::2']);
    expect(result.ambiguous).toBe(0);
    expect(result.addresses.find((entry) => entry.address === '192.0.2.2')?.matches).toBe(probesV4);
    expect(result.addresses.find((entry) => entry.address === '2001:db8::2')?.matches).toBe(probesV6);
  });

  it('reads the same from the access log nginx sent to syslog, as rsyslog writes it and as journald keeps it', async () => {
    for (const file of [syslogFile, journalFile]) {
      const result = await scan(topology, 'nginx-botsearch', [file]);
      expect(sorted(result), readFileSync(file, 'utf8')).toEqual(['192.0.2.2', '2001:db8::2']);
      expect(result.addresses.find((entry) => entry.address === '192.0.2.2')?.matches).toBe(probesV4);
      expect(result.addresses.find((entry) => entry.address === '2001:db8::2')?.matches).toBe(probesV6);
    }
  });
});
