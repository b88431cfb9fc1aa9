// The real fail2ban (Debian's package) with banaction xtban, in the fw namespace: failure lines appended to a
// log make fail2ban call the action, the address lands in the xtban list and its connections are dropped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, runXtban, type Topology } from './helpers/netns.js';
import { CLI_MAIN, sleep, workDir } from './helpers/work.js';

const work = workDir('f2b');
const repo = new URL('../../', import.meta.url).pathname;
const haveFail2ban = spawnSync('fail2ban-server', ['--version']).status === 0;

describeKernel('fail2ban with banaction xtban', () => {
  let topology: Topology;
  let port: number;
  let server: ChildProcess | undefined;
  let serverLog = '';
  const conf = join(work, 'fail2ban');
  const log = join(work, 'app.log');
  const xtbanConfig = join(work, 'xtban.toml');
  const stateDir = join(work, 'state');
  const xtban = (...args: string[]) => runXtban(topology, ['--config', xtbanConfig, '--state-dir', stateDir, ...args]);

  beforeAll(async () => {
    if (!haveFail2ban) throw new Error("fail2ban is not installed: run scripts/setup.sh as root (it installs Debian's fail2ban)");
    topology = await createTopology('fail2ban');
    port = (await topology.startTcpServer(0)).port;
    writeFileSync(xtbanConfig, `[safelist]\nown_addresses = false\n\n[jails.xtbantest]\nports = [${port}]\nwindow = "1h"\nfamily = "ipv4"\n`);
    // The xtban command fail2ban runs: the built CLI with this test's config and store.
    const wrapper = join(work, 'xtban');
    writeFileSync(wrapper, `#!/bin/sh\nXTBAN_CONFIG=${xtbanConfig} XTBAN_STATE_DIR=${stateDir} exec ${process.execPath} ${CLI_MAIN} "$@"\n`);
    chmodSync(wrapper, 0o755);
    // Debian's configuration, without its default jails, plus the xtban action, a test filter and jail.
    cpSync('/etc/fail2ban', conf, { recursive: true });
    for (const file of readdirSync(join(conf, 'jail.d'))) rmSync(join(conf, 'jail.d', file));
    cpSync(join(repo, 'fail2ban/action.d/xtban.conf'), join(conf, 'action.d/xtban.conf'));
    writeFileSync(join(conf, 'filter.d/xtbantest.conf'), '[Definition]\nfailregex = Failed login for \\S+ from <HOST>$\n');
    writeFileSync(
      join(conf, 'fail2ban.local'),
      `[Definition]\nloglevel = INFO\nlogtarget = ${join(work, 'fail2ban.log')}\nsocket = ${join(work, 'fail2ban.sock')}\npidfile = ${join(work, 'fail2ban.pid')}\ndbfile = :memory:\n`,
    );
    writeFileSync(log, '');
    writeFileSync(
      join(conf, 'jail.local'),
      `[xtbantest]\nenabled = true\nbackend = polling\nfilter = xtbantest\nlogpath = ${log}\nmaxretry = 3\nfindtime = 600\nbantime = 3600\naction = xtban[xtban=${wrapper}]\n`,
    );
    server = spawn(
      'ip',
      ['netns', 'exec', topology.names.fw, 'fail2ban-server', '-f', '-x', '-c', conf, '-s', join(work, 'fail2ban.sock'), '-p', join(work, 'fail2ban.pid')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    server.stderr?.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    // actionstart runs `xtban apply`: wait for the chain.
    const started = Date.now();
    while (!(await topology.iptablesSave('fw', 4)).includes('-j xtban-xtbantest')) {
      if (Date.now() - started > 20_000) throw new Error(`fail2ban did not start the xtban action:\n${serverLog}\n${safeRead(join(work, 'fail2ban.log'))}`);
      await sleep(200);
    }
  });
  afterAll(async () => {
    server?.kill('SIGTERM');
    await sleep(300);
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await topology?.destroy();
  });

  it('bans through xtban: recorded with source fail2ban, in the list, connections dropped', async () => {
    const attacker = topology.addresses.attacker.ipv4;
    expect(await topology.probe(topology.addresses.fw.ipv4, port)).toBe('open');
    const stamp = () => {
      const now = new Date();
      const pad = (value: number) => String(value).padStart(2, '0');
      return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
    };
    for (let i = 0; i < 3; i++) appendFileSync(log, `${stamp()} Failed login for admin${i} from ${attacker}\n`);
    const started = Date.now();
    while (!(await topology.exec('fw', 'cat', ['/proc/net/xt_recent/xtban-xtbantest'])).stdout.includes(`src=${attacker} `)) {
      if (Date.now() - started > 20_000) throw new Error(`no ban after 20 s:\n${safeRead(join(work, 'fail2ban.log'))}`);
      await sleep(200);
    }
    expect(await topology.probe(topology.addresses.fw.ipv4, port)).toBe('dropped');
    const bans = JSON.parse((await xtban('bans', '--json')).stdout).bans as { address: string; source: string; reason: string; state: string }[];
    expect(bans).toEqual([expect.objectContaining({ address: attacker, source: 'fail2ban', reason: 'fail2ban xtbantest', state: 'live' })]);
    // actioncheck is xtban check: in place.
    expect((await xtban('check', '--jail', 'xtbantest')).exitCode).toBe(0);
  });
});

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-4000);
  } catch {
    return '(no log)';
  }
}
