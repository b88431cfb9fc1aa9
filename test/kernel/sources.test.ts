// Offender sources run by the daemon in the fw namespace: a followed log file (appends, rotation by
// rename and by copytruncate, restart without missing or recounting), a blocklist file, the journal.
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, runXtban, type Topology } from './helpers/netns.js';
import { sleep, spawnXtban, workDir } from './helpers/work.js';

const work = workDir('sources');

describeKernel('offender sources', () => {
  let topology: Topology;
  let port: number;
  let daemon: ChildProcess | undefined;
  let logs = '';
  const config = join(work, 'xtban.toml');
  const stateDir = join(work, 'state');
  const authLog = join(work, 'auth.log');
  const blocklist = join(work, 'blocklist.txt');
  const safelistFile = join(work, 'safelist.txt');
  const journalOut = join(work, 'journal.json');
  const journalArgs = join(work, 'journalctl.args');
  const xtban = (...args: string[]) => runXtban(topology, ['--config', config, '--state-dir', stateDir, ...args]);
  const line = (message: string) => `Nov 21 02:33:01 fw sshd[1201]: ${message}\n`;
  const failure = (address: string, user = 'root') => line(`Failed password for ${user} from ${address} port 52311 ssh2`);
  const listed = async (list = 'xtban-ssh') => (await topology.exec('fw', 'cat', [`/proc/net/xt_recent/${list}`])).stdout;

  async function until(what: string, check: () => Promise<boolean>, limitMs = 4000): Promise<number> {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > limitMs) throw new Error(`${what} did not happen within ${limitMs} ms; daemon log:\n${logs.slice(-3000)}`);
      await sleep(100);
    }
    return Date.now() - started;
  }

  async function startDaemon(): Promise<void> {
    logs = '';
    daemon = spawnXtban(topology.names.fw, ['--config', config, '--state-dir', stateDir, 'daemon'], {
      env: { ...process.env, XTBAN_JOURNALCTL: join(work, 'journalctl') },
      onOutput: (text) => (logs += text),
    });
    await until('daemon start', async () => logs.includes('offender sources started'), 10_000);
  }

  async function stopDaemon(): Promise<void> {
    const exited = new Promise((resolve) => daemon?.on('exit', resolve));
    daemon?.kill('SIGTERM');
    await exited;
  }

  beforeAll(async () => {
    topology = await createTopology('sources');
    port = (await topology.startTcpServer(0)).port;
    writeFileSync(authLog, line('Server listening on 0.0.0.0 port 22.'));
    writeFileSync(blocklist, '# permanent offenders\n');
    writeFileSync(safelistFile, '# nothing yet\n');
    // A stand-in for journalctl: records its arguments; following (-f), prints a recorded journal, then
    // waits; asked for the journal's end (-n 1), prints one entry with its cursor.
    writeFileSync(
      join(work, 'journalctl'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> ${journalArgs}\nif [ "$1" != "-f" ]; then echo '{"__CURSOR":"s=tail;i=9","MESSAGE":[1]}'; exit 0; fi\ncat ${journalOut} 2>/dev/null\nexec sleep 600\n`,
    );
    chmodSync(join(work, 'journalctl'), 0o755);
    const entries = [1, 2, 3].map((i) =>
      JSON.stringify({
        __CURSOR: `s=abc;i=${i}`,
        __REALTIME_TIMESTAMP: `${Date.now() * 1000}`,
        SYSLOG_IDENTIFIER: 'sshd',
        MESSAGE: `Invalid user u${i} from 203.0.113.30 port 4000${i}`,
      }),
    );
    writeFileSync(journalOut, `${entries.join('\n')}\n`);
    writeFileSync(
      config,
      [
        '[safelist]',
        'own_addresses = true',
        'addresses = ["198.51.100.200"]',
        `files = ["${safelistFile}"]`,
        '',
        '[jails.ssh]',
        `ports = [${port}]`,
        'window = "1h"',
        'maxretry = 3',
        'findtime = "10m"',
        'family = "ipv4"',
        '[[jails.ssh.sources]]',
        'type = "file"',
        `path = "${authLog}"`,
        'filter = "sshd"',
        '[[jails.ssh.sources]]',
        'type = "list"',
        `path = "${blocklist}"`,
        '[[jails.ssh.sources]]',
        'type = "journal"',
        'unit = "ssh.service"',
        '',
      ].join('\n'),
    );
    expect((await xtban('apply')).exitCode).toBe(0);
    await startDaemon();
  });
  afterAll(async () => {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    await topology?.destroy();
  });

  it('bans after maxretry failures in the log, never the injected or the safelisted address', async () => {
    const attacker = topology.addresses.attacker.ipv4;
    expect(await topology.probe(topology.addresses.fw.ipv4, port)).toBe('open');
    for (let i = 0; i < 3; i++) appendFileSync(authLog, failure(attacker, `invalid user from 192.0.2.7 port 22 x${i}`));
    for (let i = 0; i < 5; i++) appendFileSync(authLog, failure('198.51.100.200'));
    await until('ban from the log', async () => (await listed()).includes(`src=${attacker} `));
    expect(await topology.probe(topology.addresses.fw.ipv4, port)).toBe('dropped');
    const text = await listed();
    expect(text).not.toContain('src=192.0.2.7 ');
    expect(text).not.toContain('src=198.51.100.200 ');
    // Two failures stay under maxretry.
    for (let i = 0; i < 2; i++) appendFileSync(authLog, failure('198.51.100.50'));
    await sleep(1500);
    expect(await listed()).not.toContain('src=198.51.100.50 ');
  });

  it('follows rotation by rename and by copytruncate', async () => {
    renameSync(authLog, `${authLog}.1`);
    appendFileSync(`${authLog}.1`, failure('198.51.100.60'));
    writeFileSync(authLog, failure('198.51.100.60') + failure('198.51.100.60'));
    await until('ban across a rename', async () => (await listed()).includes('src=198.51.100.60 '));
    truncateSync(authLog, 0);
    appendFileSync(authLog, failure('198.51.100.61') + failure('198.51.100.61') + failure('198.51.100.61'));
    await until('ban after copytruncate', async () => (await listed()).includes('src=198.51.100.61 '));
  });

  it('resumes after a restart without missing or recounting a line', async () => {
    appendFileSync(authLog, failure('198.51.100.70') + failure('198.51.100.70') + failure('198.51.100.70'));
    await until('ban before the restart', async () => (await listed()).includes('src=198.51.100.70 '));
    await stopDaemon();
    expect((await xtban('unban', '198.51.100.70')).exitCode).toBe(0);
    // Written while the daemon is down: must be read after the restart.
    appendFileSync(authLog, failure('198.51.100.71') + failure('198.51.100.71') + failure('198.51.100.71'));
    await startDaemon();
    await until('ban of lines written while down', async () => (await listed()).includes('src=198.51.100.71 '));
    await sleep(1000);
    // The lines of .70 were counted before the restart; reading them again would ban it again.
    expect(await listed()).not.toContain('src=198.51.100.70 ');
  });

  it('bans blocklist entries within a second of the write, and unbans a removed line', async () => {
    appendFileSync(blocklist, '203.0.113.40\nnot-an-address\n203.0.113.41 # scanner\n');
    const took = await until('blocklist ban', async () => (await listed()).includes('src=203.0.113.41 '), 3000);
    expect(took).toBeLessThan(1500);
    expect(await listed()).toContain('src=203.0.113.40 ');
    expect(logs).toContain('blocklist line skipped');
    const bans = JSON.parse((await xtban('bans', '--json')).stdout).bans as { address: string; permanent: boolean; source: string }[];
    expect(bans.find((ban) => ban.address === '203.0.113.40')).toMatchObject({ permanent: true, source: 'list' });
    writeFileSync(blocklist, '203.0.113.41\n');
    await until('unban of the removed line', async () => !(await listed()).includes('src=203.0.113.40 '));
    expect(await listed()).toContain('src=203.0.113.41 ');
  });

  it('checks every admission against the safelist as it is now: a line added to a safelist file, an address added to an interface', async () => {
    writeFileSync(safelistFile, '203.0.113.50\n');
    expect((await topology.exec('fw', 'ip', ['addr', 'add', '203.0.113.51/32', 'dev', 'lo'])).exitCode).toBe(0);
    writeFileSync(blocklist, '203.0.113.50\n203.0.113.51\n203.0.113.52\n');
    await until('the unsafe address banned', async () => (await listed()).includes('src=203.0.113.52 '));
    const text = await listed();
    expect(text).not.toContain('src=203.0.113.50 ');
    expect(text).not.toContain('src=203.0.113.51 ');
    const bans = JSON.parse((await xtban('bans', '--json')).stdout).bans as { address: string }[];
    expect(bans.map((ban) => ban.address)).not.toContain('203.0.113.50');
    expect(bans.map((ban) => ban.address)).not.toContain('203.0.113.51');
    // What the command line refuses, the daemon refuses too.
    expect((await xtban('ban', '203.0.113.50')).exitCode).toBe(4);
    expect((await xtban('ban', '203.0.113.51')).exitCode).toBe(4);
  });

  it('bans from the journal and starts it at the end the first time', async () => {
    await until('ban from the journal', async () => (await listed()).includes('src=203.0.113.30 '));
    // One line per start of journalctl. The first time it asks where the journal ends, then follows
    // from there: what is already in the journal is never counted, what comes after is never missed.
    const starts = () => readFileSync(journalArgs, 'utf8').trimEnd().split('\n');
    const [tail, follow] = starts();
    expect(tail).toBe('-n 1 -o json --no-pager');
    expect(follow).toContain('-f -o json');
    expect(follow).toContain('-u ssh.service');
    expect(follow).toContain('--no-tail --after-cursor s=tail;i=9');
    const bans = JSON.parse((await xtban('bans', '--json')).stdout).bans as { address: string; source: string }[];
    expect(bans.find((ban) => ban.address === '203.0.113.30')?.source).toBe('journal');
    // After a restart, journalctl resumes after the last cursor it gave.
    const before = starts().length;
    await stopDaemon();
    await startDaemon();
    await until('journalctl restarted', async () => starts().length > before && (starts().at(-1) ?? '').includes('--no-tail --after-cursor s=abc;i=3'));
    // With a saved cursor there is no second look for the end.
    expect(starts().filter((line) => line.startsWith('-n 1 '))).toHaveLength(1);
  });
});
