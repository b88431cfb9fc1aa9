// The reaper against the real kernel: stale, live, refreshed, permanent and safelisted entries, and the race
// with a ban made while it works.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, runXtban, type Topology } from './helpers/netns.js';
import { buildScript } from './helpers/build-script.js';
import { sleep, workDir } from './helpers/work.js';

const work = workDir('reap');

describeKernel('reap', () => {
  let topology: Topology;
  let stateDir: string;
  const configFor = (safe: string[]) => {
    const path = join(work, `config-${safe.length}.toml`);
    writeFileSync(
      path,
      `[safelist]\nown_addresses = false\naddresses = ${JSON.stringify(safe)}\n\n[jails.ssh]\nports = [22]\nwindow = "2s"\nfamily = "ipv4"\n`,
    );
    return path;
  };
  const xtban = (config: string, ...args: string[]) => runXtban(topology, ['--config', config, '--state-dir', stateDir, ...args]);
  const listed = async () =>
    (await topology.exec('fw', 'cat', ['/proc/net/xt_recent/xtban-ssh'])).stdout
      .split('\n')
      .filter((line) => line.startsWith('src='))
      .map((line) => line.slice(4, line.indexOf(' ')))
      .sort();

  beforeAll(async () => {
    topology = await createTopology('reap');
    stateDir = join(work, 'state');
  });
  afterAll(async () => topology?.destroy());

  it('removes exactly the stale and safelisted entries and ends the stale bans in the store', async () => {
    const plain = configFor([]);
    expect((await xtban(plain, 'apply')).exitCode).toBe(0);
    // Early: stale-to-be, refreshed-to-be, permanent, safelisted-to-be.
    expect((await xtban(plain, 'ban', '198.51.100.1', '198.51.100.3', '198.51.100.5')).exitCode).toBe(0);
    expect((await xtban(plain, 'ban', '198.51.100.4', '--permanent')).exitCode).toBe(0);
    await sleep(2600);
    // Late: live, and the refresh of an early one.
    expect((await xtban(plain, 'ban', '198.51.100.2', '198.51.100.3')).exitCode).toBe(0);
    expect(await listed()).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5']);

    const withSafe = configFor(['198.51.100.5']);
    const dry = JSON.parse((await xtban(withSafe, 'reap', '--dry-run', '--json')).stdout);
    expect(dry.removed.map((action: { address: string; reason: string }) => `${action.address} ${action.reason}`).sort()).toEqual([
      '198.51.100.1 stale',
      '198.51.100.5 safelisted',
    ]);
    expect(await listed()).toHaveLength(5);

    const reaped = await xtban(withSafe, 'reap', '--json');
    expect(reaped.exitCode, reaped.stderr).toBe(0);
    const report = JSON.parse(reaped.stdout);
    expect(report.removed.map((action: { address: string }) => action.address).sort()).toEqual(['198.51.100.1', '198.51.100.5']);
    expect(report.refreshed.map((action: { address: string }) => action.address)).toEqual(['198.51.100.4']);
    expect(report.endedInStore).toBe(1);
    expect(await listed()).toEqual(['198.51.100.2', '198.51.100.3', '198.51.100.4']);
    const bans = JSON.parse((await xtban(withSafe, 'bans', '--json')).stdout).bans as { address: string; state: string; endReason: string | null }[];
    expect(bans.find((ban) => ban.address === '198.51.100.1')).toMatchObject({ state: 'ended', endReason: 'reaped' });
    expect(bans.find((ban) => ban.address === '198.51.100.4')).toMatchObject({ state: 'permanent' });

    // The permanent ban is put back when something else removed it.
    await topology.execOk('fw', 'sh', ['-c', 'echo -198.51.100.4 > /proc/net/xt_recent/xtban-ssh']);
    const repaired = JSON.parse((await xtban(withSafe, 'reap', '--json')).stdout);
    expect(repaired.restore.putBack.map((entry: { address: string }) => entry.address)).toEqual(['198.51.100.4']);
    expect(await listed()).toContain('198.51.100.4');
  });

  it('keeps an address re-banned between the reaper reading the list and writing its removals', async () => {
    const plain = configFor([]);
    expect((await xtban(plain, 'ban', '198.51.100.20')).exitCode).toBe(0);
    await sleep(2600);
    // A reaper that waits 2 s between its plan and its writes (the pause injected, not a hook in src/).
    const script = await buildScript(fileURLToPath(new URL('./helpers/reap-paused.ts', import.meta.url)), 'reap-paused');
    const child = spawn('ip', ['netns', 'exec', topology.names.fw, process.execPath, script, plain, stateDir, '2000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // The reaper has read and planned (the address is stale); ban it again while it waits.
    await sleep(1000);
    expect((await xtban(plain, 'ban', '198.51.100.20')).exitCode).toBe(0);
    expect(await exited).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.removed.map((action: { address: string }) => action.address)).not.toContain('198.51.100.20');
    expect(report.spared.map((action: { address: string }) => action.address)).toContain('198.51.100.20');
    expect(await listed()).toContain('198.51.100.20');
  });
});
