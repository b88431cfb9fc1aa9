// The nginx-limit-req filter against a real nginx 1.22 in fw: curl in attacker goes over a limit_req
// zone over IPv4 and IPv6 (nginx refuses the excess with 503) with the innocent addresses in the Host
// header, the path, the User-Agent and the Referer; a client whose requests the limit only delays, one
// under limit_req_dry_run and a good client never count. `xtban scan` over the error.log as written (at
// level warn, so the delays are in it) and over what rsyslog and journald would keep of the datagrams.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  captureFixtures,
  curl,
  type Daemon,
  GOOD_CLIENT,
  INNOCENT,
  openDir,
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

const work = workDir('nginx-limit-req');
const dir = join(work, 'nginx');
const errorLog = join(dir, 'error.log');
const forms = join(work, 'forms');
const syslogFile = join(forms, 'syslog.log');
const journalFile = join(forms, 'journal.json');
// A client the limit only delays, and one whose excess limit_req_dry_run lets through.
const SLOW_CLIENT = '192.0.2.4';
const DRY_CLIENT = '192.0.2.5';

function sorted(result: ScanResult): string[] {
  return result.addresses.map((entry) => entry.address).sort();
}

describeKernel('nginx-limit-req filter against a real nginx', () => {
  let topology: Topology;
  let receiver: SyslogReceiver | undefined;
  let nginx: Daemon | undefined;
  let refusedV4 = 0;
  let refusedV6 = 0;

  beforeAll(async () => {
    openDir(work);
    topology = await createTopology('nginxlimit');
    await topology.addAttackerAddresses([GOOD_CLIENT, SLOW_CLIENT, DRY_CLIENT]);
    receiver = await startSyslogReceiver(topology, work);
    const html = join(dir, 'html');
    for (const sub of ['', 'api', 'slow', 'dry']) {
      openDir(join(html, sub));
      writeFileSync(join(html, sub, 'index.html'), 'hello\n', { mode: 0o644 });
    }
    nginx = await startNginx(topology, dir, {
      syslog: { socket: receiver.socket, logs: ['error'] },
      errorLevel: 'warn',
      http: [
        // One request a minute and one more at once for /api/: the third is refused.
        '  limit_req_zone $binary_remote_addr zone=api:1m rate=1r/m;',
        '  limit_req_zone $binary_remote_addr zone=slow:1m rate=1r/s;',
        '  limit_req_zone $binary_remote_addr zone=dry:1m rate=1r/m;',
        '  server {',
        '    listen 80;',
        '    listen [::]:80;',
        '    server_name localhost;',
        `    root ${html};`,
        '    location /api/ { limit_req zone=api burst=1 nodelay; }',
        '    location /slow/ { limit_req zone=slow burst=3; }',
        '    location /dry/ { limit_req zone=dry; limit_req_dry_run on; }',
        '  }',
      ].join('\n'),
    });

    const { fw } = topology.addresses;
    const v4 = `http://${fw.ipv4}/api/`;
    const v6 = `http://[${fw.ipv6}]/api/`;
    const request = async (url: string, args: readonly string[] = []): Promise<void> => {
      const status = await curl(topology, url, args);
      expect([200, 404, 503]).toContain(status);
      if (status === 503) {
        if (url.startsWith(v6)) refusedV6++;
        else refusedV4++;
      }
    };
    await request(v4);
    await request(v4);
    await request(v4, ['-H', `Host: ${INNOCENT.ipv4}`]);
    await request(v4, ['-H', `Host: a",client:${INNOCENT.ipv4}`]);
    await request(`${v4}x",client:${INNOCENT.ipv4},server:y`);
    await request(`${v4}x%22,%20client:%20${INNOCENT.ipv4}`, ['-H', `Host: [${INNOCENT.ipv6}]`]);
    await request(v4, ['-A', `ua", client: ${INNOCENT.ipv4}, server: y`, '-e', `http://r/", client: ${INNOCENT.ipv4}, server: y`]);
    for (let i = 0; i < 4; i++) await request(v6);
    expect(refusedV4).toBe(5);
    expect(refusedV6).toBe(2);
    // Delayed, never refused: one a second with a burst of three, four at once (the last waits 3 s).
    const slow = await Promise.all([0, 1, 2, 3].map(() => curl(topology, `http://${fw.ipv4}/slow/`, [], SLOW_CLIENT)));
    expect(slow).toEqual([200, 200, 200, 200]);
    // Over the limit but let through: limit_req_dry_run.
    for (let i = 0; i < 3; i++) expect(await curl(topology, `http://${fw.ipv4}/dry/`, [], DRY_CLIENT)).toBe(200);
    expect(await curl(topology, v4, [], GOOD_CLIENT)).toBe(200);

    await waitForLines(errorLog, 'limiting requests, excess:', refusedV4 + refusedV6);
    await waitForLines(errorLog, 'delaying request', 3);
    await waitForLines(errorLog, 'limiting requests, dry run', 2);
    await nginx.stop();
    nginx = undefined;
    mkdirSync(forms, { recursive: true });
    writeSyslogForms(receiver as SyslogReceiver, 0, forms);
    captureFixtures('nginx-limit-req', {
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

  it('writes refusals at error, delays one level lower, dry runs as refusals that refuse nothing', () => {
    const text = readFileSync(errorLog, 'utf8');
    expect(text).toMatch(
      /\[error\] \d+#\d+: \*\d+ limiting requests, excess: \d+\.\d{3} by zone "api", client: 192\.0\.2\.2, server: localhost, request: "GET \/api\/ HTTP\/1\.1", host: "203\.0\.113\.9"\n/,
    );
    expect(text).toContain(`request: "GET /api/x",client:${INNOCENT.ipv4},server:y HTTP/1.1"`);
    expect(text).toContain(`host: "a",client:${INNOCENT.ipv4}"`);
    expect(text).toContain(`referrer: "http://r/", client: ${INNOCENT.ipv4}, server: y"`);
    expect(text).toMatch(/\[warn\] \d+#\d+: \*\d+ delaying request, excess: \d+\.\d{3}, by zone "slow", client: 192\.0\.2\.4, /);
    expect(text).toMatch(/\[error\] \d+#\d+: \*\d+ limiting requests, dry run, excess: \d+\.\d{3} by zone "dry", client: 192\.0\.2\.5, /);
  });

  it("counts the requests nginx refused, the attacker's only, never an innocent address", async () => {
    const result = await scan(topology, 'nginx-limit-req', [errorLog]);
    expect(sorted(result), readFileSync(errorLog, 'utf8')).toEqual(['192.0.2.2', '2001:db8::2']);
    expect(result.wouldBan.map((entry) => entry.address).sort()).toEqual(['192.0.2.2', '2001:db8::2']);
    expect(result.ambiguous).toBe(0);
    expect(result.addresses.find((entry) => entry.address === '192.0.2.2')?.matches).toBe(refusedV4);
    expect(result.addresses.find((entry) => entry.address === '2001:db8::2')?.matches).toBe(refusedV6);
  });

  it('reads the same from what nginx sent to syslog, as rsyslog writes it and as journald keeps it', async () => {
    for (const file of [syslogFile, journalFile]) {
      const result = await scan(topology, 'nginx-limit-req', [file]);
      expect(sorted(result), readFileSync(file, 'utf8')).toEqual(['192.0.2.2', '2001:db8::2']);
      expect(result.addresses.find((entry) => entry.address === '192.0.2.2')?.matches).toBe(refusedV4);
      expect(result.addresses.find((entry) => entry.address === '2001:db8::2')?.matches).toBe(refusedV6);
    }
  });
});
