// The daemon in the fw namespace: repair within 2 s of a flush or a foreign iptables-restore, config
// reload that keeps the old config when the new one is broken, metrics that match status, clean shutdown.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, runXtban, type Topology } from './helpers/netns.js';
import { sleep, spawnXtban, workDir } from './helpers/work.js';

const work = workDir('daemon');

describeKernel('daemon', () => {
  let topology: Topology;
  let port: number;
  let daemon: ChildProcess;
  let logs = '';
  const config = join(work, 'xtban.toml');
  const stateDir = join(work, 'state');
  const metricsPort = 19789;
  const textfile = join(work, 'xtban.prom');
  const writeConfig = (extra = '') =>
    writeFileSync(
      config,
      `[safelist]\nown_addresses = false\n\n[daemon]\ncheck_interval = "1s"\nreap_interval = "60s"\nmetrics = "127.0.0.1:${metricsPort}"\nmetrics_file = "${textfile}"\n\n[jails.ssh]\nports = [${port}]\nwindow = "1h"\n${extra}`,
    );
  const xtban = (...args: string[]) => runXtban(topology, ['--config', config, '--state-dir', stateDir, ...args]);
  const fw = () => topology.addresses.fw.ipv4;
  // How many repairs the daemon has logged so far. A repair can come before any probe could see the hole,
  // so the tests count repairs instead of expecting an open port in between.
  const repairs = () => logs.split('ruleset or lists were missing: repaired').length - 1;

  // Polls with real connections until the attacker is dropped; returns how long it took.
  async function droppedWithin(limitMs: number): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < limitMs) {
      if ((await topology.probe(fw(), port, 150)) === 'dropped') return Date.now() - started;
      await sleep(50);
    }
    throw new Error(`the attacker was not dropped within ${limitMs} ms; daemon log:\n${logs.slice(-3000)}`);
  }

  beforeAll(async () => {
    topology = await createTopology('daemon');
    port = (await topology.startTcpServer(0)).port;
    writeConfig();
    await topology.execOk('fw', 'ip', ['link', 'set', 'lo', 'up']);
    daemon = spawnXtban(topology.names.fw, ['--config', config, '--state-dir', stateDir, 'daemon'], { onOutput: (text) => (logs += text) });
    const started = Date.now();
    while (!logs.includes('serving metrics')) {
      if (Date.now() - started > 10_000) throw new Error(`daemon did not start:\n${logs}`);
      await sleep(50);
    }
  });
  afterAll(async () => {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
    await topology?.destroy();
  });

  it('refuses a second daemon on the same state directory, and leaves the first one running', async () => {
    let second = '';
    const other = spawnXtban(topology.names.fw, ['--config', config, '--state-dir', stateDir, 'daemon'], { onOutput: (text) => (second += text) });
    const code = await new Promise<number | null>((resolve) => other.once('exit', resolve));
    expect(code).toBe(3);
    expect(second).toContain('another xtban daemon runs on the state directory');
    expect(daemon.exitCode).toBeNull();
    expect((await xtban('check')).exitCode).toBe(0);
  });

  it('puts chains and bans back within 2 s of iptables -F; iptables -X', async () => {
    expect((await xtban('check')).exitCode).toBe(0);
    expect((await xtban('ban', topology.addresses.attacker.ipv4)).exitCode).toBe(0);
    expect(await topology.probe(fw(), port)).toBe('dropped');
    const before = repairs();
    await topology.execOk('fw', 'iptables', ['-F']);
    await topology.execOk('fw', 'iptables', ['-X']);
    expect(await droppedWithin(2000)).toBeLessThan(2000);
    expect(repairs()).toBeGreaterThan(before);
  });

  it('and within 2 s of an iptables-restore of a ruleset without xtban', async () => {
    const before = repairs();
    await topology.execOk('fw', 'iptables-restore', [], {
      input: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 53 -j ACCEPT\nCOMMIT\n',
    });
    expect(await droppedWithin(2000)).toBeLessThan(2000);
    expect(repairs()).toBeGreaterThan(before);
    expect(await topology.iptablesSave('fw', 4)).toContain('-A INPUT -p udp -m udp --dport 53 -j ACCEPT');
  });

  it('and within 2 s of the jump deleted by hand (the lists stay: nft monitor reports the change)', async () => {
    expect(logs).toContain('watching ruleset changes (nft monitor)');
    const jump = (await topology.iptablesSave('fw', 4)).split('\n').find((line) => line.startsWith('-A INPUT ') && line.endsWith('-j xtban-ssh'));
    expect(jump).toBeDefined();
    // Twice: without the report the ruleset would be compared only every tenth check, and one deletion
    // could fall just before such a check by chance.
    for (let round = 0; round < 2; round++) {
      const before = repairs();
      await topology.execOk('fw', 'iptables', ['-D', ...(jump ?? '').slice(3).split(' ')]);
      const started = Date.now();
      while (repairs() === before && Date.now() - started < 2000) await sleep(20);
      expect(Date.now() - started, `round ${round}, daemon log:\n${logs.slice(-3000)}`).toBeLessThan(2000);
      expect(logs).toContain('jump from INPUT to xtban-ssh is missing');
      expect(await droppedWithin(500)).toBeLessThan(500);
    }
  });

  it('keeps running on the old config when a reload brings a broken one, and takes a good one', async () => {
    writeFileSync(config, '[jails.ssh]\nwindw = "1h"\n');
    daemon.kill('SIGHUP');
    const started = Date.now();
    while (!logs.includes('config reload failed: keeping the running config')) {
      if (Date.now() - started > 5000) throw new Error(`no reload failure logged:\n${logs.slice(-2000)}`);
      await sleep(50);
    }
    expect(logs).toContain('jails.ssh.windw: unknown key');
    expect(daemon.exitCode).toBeNull();
    // Still repairing with the old config.
    await topology.execOk('fw', 'iptables', ['-F']);
    expect(await droppedWithin(2000)).toBeLessThan(2000);

    // A good config, noticed through the file watcher: a new jail appears.
    writeConfig('\n[jails.web]\nports = [80]\nwindow = "10m"\nfamily = "ipv4"\n');
    const waited = Date.now();
    while (!(await topology.iptablesSave('fw', 4)).includes('-j xtban-web')) {
      if (Date.now() - waited > 5000) throw new Error(`new jail not applied:\n${logs.slice(-2000)}`);
      await sleep(100);
    }
    expect(logs).toContain('config reloaded');
  });

  it('serves metrics over loopback that match status --json', async () => {
    expect((await xtban('ban', '198.51.100.1', '198.51.100.2', '--jail', 'web', '--source', 'fail2ban')).exitCode).toBe(0);
    const scraped = await topology.execOk('fw', process.execPath, [
      '-e',
      `fetch('http://127.0.0.1:${metricsPort}/metrics').then(r => r.text()).then(t => process.stdout.write(t))`,
    ]);
    const status = JSON.parse((await xtban('status', '--json')).stdout) as {
      lists: { jail: string | null; list: string; used: number; capacity: number; live: number; stale: number; evicted: number }[];
    };
    const value = (name: string, labels: string) => {
      const match = new RegExp(`^${name}\\{${labels.replace(/[.]/g, '\\.')}\\} (\\S+)$`, 'm').exec(scraped.stdout);
      if (!match) throw new Error(`${name}{${labels}} not in:\n${scraped.stdout}`);
      return Number(match[1]);
    };
    for (const list of status.lists.filter((candidate) => candidate.jail !== null)) {
      const labels = `jail="${list.jail}",list="${list.list}"`;
      expect(value('xtban_list_entries', labels), list.list).toBe(list.used);
      expect(value('xtban_list_capacity_entries', labels)).toBe(list.capacity);
      expect(value('xtban_list_live_entries', labels)).toBe(list.live);
      expect(value('xtban_list_stale_entries', labels)).toBe(list.stale);
      expect(value('xtban_list_evicted_bans', labels)).toBe(list.evicted);
    }
    expect(value('xtban_bans_live_by_source', 'jail="web",source="fail2ban"')).toBe(2);
    expect(value('xtban_repairs_total', 'kind="ruleset"')).toBeGreaterThanOrEqual(3);
    expect(scraped.stdout).toContain('# TYPE xtban_reaped_entries_total counter');
    // The textfile was written after the repairs, in the same format.
    const written = readFileSync(textfile, 'utf8');
    expect(written).toContain('# TYPE xtban_list_entries gauge');
    expect(written).toMatch(/^xtban_list_capacity_entries\{jail="ssh",list="xtban-ssh"\} 100$/m);
  });

  it('exits 0 within a second of SIGTERM and leaves the bans in the kernel', async () => {
    const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
    const started = Date.now();
    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await topology.exec('fw', 'cat', ['/proc/net/xt_recent/xtban-ssh'])).stdout).toContain(`src=${topology.addresses.attacker.ipv4} `);
    expect(await topology.probe(fw(), port)).toBe('dropped');
  });
});
