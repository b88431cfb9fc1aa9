// The nginx-http-auth filter against a real nginx 1.22 in fw: curl in attacker fails basic auth over
// IPv4 and IPv6 and puts the innocent addresses into every field it controls (user names, the request
// path, the Host header, the User-Agent, the Referer), a second client logs in correctly. nginx logs to
// its error.log and to the test's syslog socket at once. `xtban scan` over the error.log as written, and
// over what rsyslog and journald would keep of the datagrams, finds the attacker's two addresses only.
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
  USER,
  waitForLines,
  writeHtpasswd,
  writeSyslogForms,
} from '../helpers/daemons-web.js';
import { createTopology, describeKernel, type Topology } from '../helpers/netns.js';
import { workDir } from '../helpers/work.js';

const work = workDir('nginx-http-auth');
const dir = join(work, 'nginx');
const errorLog = join(dir, 'error.log');
const accessLog = join(dir, 'access.log');
const forms = join(work, 'forms');
const syslogFile = join(forms, 'syslog.log');
const journalFile = join(forms, 'journal.json');

// User names built on nginx's own words around the address, each sent as it stands in the header
// (nginx, not curl, cuts it at the first ':'), the last ones with a newline and a whole forged line.
const NAMES = [
  `x from ${INNOCENT.ipv4} port 22`,
  `x", client: ${INNOCENT.ipv4}, server: y`,
  `x'@'${INNOCENT.ipv4}`,
  `x rip=${INNOCENT.ipv4}`,
  `<x@${INNOCENT.ipv4}>`,
  INNOCENT.ipv4,
  `x", client: ${INNOCENT.ipv6}, server: y`,
  `x ${INNOCENT.ipv6}`,
  `x\n2026/12/03 07:01:59 [error] 1#1: *1 user "y" was not found in "/etc/nginx/htpasswd", client: ${INNOCENT.ipv4}, server: y, request: "GET / HTTP/1.1", host: "y"`,
  `x\n[error] 1#1 *1 user "y" was not found in "/h", client ${INNOCENT.ipv4}, server y`,
];

// Every failing request of the attacker's own line, from IPv4 unless it says otherwise.
const REAL = /, client: (?:192\.0\.2\.2|2001:db8::2), server: /;

function sorted(result: ScanResult): string[] {
  return result.addresses.map((entry) => entry.address).sort();
}

describeKernel('nginx-http-auth filter against a real nginx', () => {
  let topology: Topology;
  let receiver: SyslogReceiver | undefined;
  let nginx: Daemon | undefined;
  // Failed requests from the attacker's IPv4 and IPv6 addresses.
  let failedV4 = 0;
  let failedV6 = 0;

  beforeAll(async () => {
    openDir(work);
    topology = await createTopology('nginxauth');
    await topology.addAttackerAddresses([GOOD_CLIENT]);
    receiver = await startSyslogReceiver(topology, work);
    openDir(join(dir, 'html'));
    writeFileSync(join(dir, 'html', 'index.html'), 'hello\n', { mode: 0o644 });
    await writeHtpasswd(topology, join(dir, 'htpasswd'));
    nginx = await startNginx(topology, dir, {
      syslog: { socket: receiver.socket, logs: ['error'] },
      http: [
        '  server {',
        '    listen 80;',
        '    listen [::]:80;',
        '    server_name localhost;',
        `    root ${join(dir, 'html')};`,
        '    location / {',
        '      auth_basic "restricted";',
        `      auth_basic_user_file ${join(dir, 'htpasswd')};`,
        '    }',
        '  }',
      ].join('\n'),
    });

    const { fw } = topology.addresses;
    const v4 = `http://${fw.ipv4}/`;
    const v6 = `http://[${fw.ipv6}]/`;
    const fail = async (url: string, args: readonly string[]): Promise<void> => {
      expect(await curl(topology, url, args)).toBe(401);
      if (url === v6) failedV6++;
      else failedV4++;
    };
    // Plain failures: a wrong password, a user the file lacks, twice over IPv6.
    await fail(v4, ['-u', `${USER.name}:wrong`]);
    await fail(v4, ['-u', 'bob:wrong']);
    await fail(v6, ['-u', 'bob:wrong']);
    await fail(v6, ['-u', `${USER.name}:wrong`]);
    // The injections: user names, then the Host header, the path, the User-Agent and the Referer.
    for (const name of NAMES) await fail(v4, ['-H', basicAuth(name, 'wrong')]);
    await fail(v4, ['-u', 'bob:wrong', '-H', `Host: ${INNOCENT.ipv4}`]);
    await fail(v4, ['-u', 'bob:wrong', '-H', `Host: a",client:${INNOCENT.ipv4}`]);
    await fail(v4, ['-u', 'bob:wrong', '-H', `Host: [${INNOCENT.ipv6}]`]);
    await fail(`${v4}x",client:${INNOCENT.ipv4},server:y`, ['-u', 'bob:wrong']);
    await fail(`${v4}x%22,%20client:%20${INNOCENT.ipv4},%20server:%20y`, ['-u', 'bob:wrong']);
    await fail(v4, ['-u', 'bob:wrong', '-A', `ua", client: ${INNOCENT.ipv4}, server: y`, '-e', `http://r/", client: ${INNOCENT.ipv4}, server: y`]);
    // Spaces in the request line: nginx 1.22 answers 400 before it reads the credentials.
    expect(
      await rawHttp(
        topology,
        fw.ipv4,
        80,
        `GET /x, client: ${INNOCENT.ipv4}, server: y HTTP/1.1\r\nHost: h\r\n${basicAuth('bob', 'wrong')}\r\nConnection: close\r\n\r\n`,
      ),
    ).toBe('HTTP/1.1 400 Bad Request');
    // The good client: a first request without credentials (a browser's), then the right ones.
    expect(await curl(topology, v4, [], GOOD_CLIENT)).toBe(401);
    expect(await curl(topology, v4, ['-u', `${USER.name}:${USER.password}`], GOOD_CLIENT)).toBe(200);

    await waitForLines(errorLog, REAL, failedV4 + failedV6);
    await waitForLines(accessLog, `${GOOD_CLIENT} - ${USER.name} `);
    await nginx.stop();
    nginx = undefined;
    mkdirSync(forms, { recursive: true });
    writeSyslogForms(receiver as SyslogReceiver, 0, forms);
    captureFixtures('nginx-http-auth', {
      'error.log': errorLog,
      'access.log': accessLog,
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

  it("writes the client's text as it came: raw quotes, spaces and newlines in the error log, the user name cut at its first ':'", () => {
    const text = readFileSync(errorLog, 'utf8');
    expect(text).toContain(`user "x from ${INNOCENT.ipv4} port 22" was not found in "`);
    // The name was x", client: 203.0.113.9, server: y; nginx kept what came before the first ':'.
    expect(text).toContain('user "x", client" was not found in "');
    expect(text).toContain('user "x 2001" was not found in "');
    // A newline stays a newline and breaks the line; the forged line's timestamp ends at its first ':'.
    expect(text).toContain('user "x\n2026/12/03 07" was not found in "');
    expect(text).toContain(`user "x\n[error] 1#1 *1 user "y" was not found in "/h", client ${INNOCENT.ipv4}, server y" was not found in "`);
    // The request line, the Host header and the Referer are raw too.
    expect(text).toContain(`request: "GET /x",client:${INNOCENT.ipv4},server:y HTTP/1.1"`);
    expect(text).toContain(`host: "a",client:${INNOCENT.ipv4}"`);
    expect(text).toContain(`referrer: "http://r/", client: ${INNOCENT.ipv4}, server: y"`);
    // The good client's request without credentials leaves nothing at level error.
    expect(text).not.toContain(`client: ${GOOD_CLIENT},`);
    // The access log escapes '"' and control characters (\x22, \x0A), never a space.
    const access = readFileSync(accessLog, 'utf8');
    expect(access).toContain(`192.0.2.2 - x\\x22, client [`);
    expect(access).toContain(`192.0.2.2 - x\\x0A2026/12/03 07 [`);
    expect(access).toContain(`192.0.2.2 - x from ${INNOCENT.ipv4} port 22 [`);
    expect(access).toContain(`"ua\\x22, client: ${INNOCENT.ipv4}, server: y"`);
  });

  it("counts the attacker's failures in the error log as written, never an innocent address, never the good client", async () => {
    const result = await scan(topology, 'nginx-http-auth', [errorLog]);
    expect(sorted(result), readFileSync(errorLog, 'utf8')).toEqual(['192.0.2.2', '2001:db8::2']);
    expect(result.wouldBan.map((entry) => entry.address).sort()).toEqual(['192.0.2.2', '2001:db8::2']);
    expect(result.ambiguous).toBe(0);
    // The two names with a newline broke their lines: the first half has no address, the second no
    // timestamp (never matched), so each such attempt is lost in this form.
    expect(result.addresses.find((entry) => entry.address === '192.0.2.2')?.matches).toBe(failedV4 - 2);
    expect(result.addresses.find((entry) => entry.address === '2001:db8::2')?.matches).toBe(failedV6);
    expect(result.unparsed).toBe(2);
  });

  it('reads the same from what nginx sent to syslog, as rsyslog writes it and as journald keeps it', async () => {
    const datagrams = readFileSync((receiver as SyslogReceiver).file, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => Buffer.from((JSON.parse(line) as { bytes: number[] }).bytes).toString('utf8'));
    // nginx's datagram: <PRI>, its time, the host name, "nginx: " and the whole error-log line, timestamp and all.
    expect(datagrams[0]).toMatch(
      /^<187>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ nginx: \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: \*\d+ user "alice": password mismatch, client: 192\.0\.2\.2, server: localhost, request: "GET \/ HTTP\/1\.1", host: "192\.0\.2\.1"$/,
    );
    // One datagram per message, the newline inside it.
    expect(datagrams.filter((datagram) => datagram.includes('user "x\n2026/12/03 07" was not found'))).toHaveLength(1);
    for (const file of [syslogFile, journalFile]) {
      const result = await scan(topology, 'nginx-http-auth', [file]);
      expect(sorted(result), readFileSync(file, 'utf8')).toEqual(['192.0.2.2', '2001:db8::2']);
      expect(result.ambiguous).toBe(0);
      // Whole messages: every attempt counts.
      expect(result.addresses.find((entry) => entry.address === '192.0.2.2')?.matches).toBe(failedV4);
      expect(result.addresses.find((entry) => entry.address === '2001:db8::2')?.matches).toBe(failedV6);
    }
  });
});
