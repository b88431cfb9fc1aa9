// In-kernel detection: a connection flood is banned by the kernel alone, with no xtban process running.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, runXtban, type Topology } from './helpers/netns.js';
import { sleep, workDir } from './helpers/work.js';

const work = workDir('detect');

describeKernel('detect', () => {
  let topology: Topology;
  let port: number;
  const config = join(work, 'xtban.toml');
  const xtban = (...args: string[]) => runXtban(topology, ['--config', config, '--state-dir', join(work, 'state'), ...args]);

  beforeAll(async () => {
    topology = await createTopology('detect');
    port = (await topology.startTcpServer(0)).port;
    writeFileSync(config, `[safelist]\nown_addresses = false\n\n[jails.ssh]\nports = [${port}]\nwindow = "1h"\ndetect = { hitcount = 4, seconds = "2s" }\n`);
  });
  afterAll(async () => topology?.destroy());

  it('bans a connection flood in the kernel; status shows the probe and detect lists; the reaper cleans the probe list', async () => {
    const applied = await xtban('apply');
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(await topology.iptablesSave('fw', 4)).toContain(
      `-m conntrack --ctstate NEW -m recent --rcheck --seconds 2 --hitcount 4 --name xtban-ssh.probe --mask 255.255.255.255 --rsource -m recent --set --name xtban-ssh.detect --mask 255.255.255.255 --rsource -j DROP`,
    );
    // No xtban process from here on: only connections.
    const target = topology.addresses.fw.ipv4;
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(await topology.probe(target, port));
    expect(outcomes).toEqual(['open', 'open', 'open', 'dropped', 'dropped', 'dropped']);
    // IPv6 is watched the same way, in lists of its own.
    const six = [];
    for (let i = 0; i < 5; i++) six.push(await topology.probe(topology.addresses.fw.ipv6, port, 1000));
    expect(six.slice(0, 3)).toEqual(['open', 'open', 'open']);
    expect(six[4]).toBe('dropped');

    const status = JSON.parse((await xtban('status', '--json')).stdout) as {
      lists: { list: string; used: number; windowSeconds: number; entries: { address: string }[] }[];
    };
    const list = (name: string) => status.lists.find((candidate) => candidate.list === name);
    expect(list('xtban-ssh.detect')?.entries.map((entry) => entry.address)).toEqual([topology.addresses.attacker.ipv4]);
    expect(list('xtban-ssh.probe')).toMatchObject({ used: 1, windowSeconds: 2 });
    expect(list('xtban-ssh.v6.detect')?.entries.map((entry) => entry.address)).toEqual([topology.addresses.attacker.ipv6]);

    await sleep(2600);
    const reaped = JSON.parse((await xtban('reap', '--json')).stdout) as { removed: { list: string }[] };
    expect(reaped.removed.map((action) => action.list).sort()).toEqual(['xtban-ssh.probe', 'xtban-ssh.v6.probe']);
    // The kernel's own ban holds for the jail's window.
    expect(await topology.probe(target, port)).toBe('dropped');
    expect((await xtban('unban', topology.addresses.attacker.ipv4)).exitCode).toBe(0);
    expect(await topology.probe(target, port)).toBe('open');
  });

  it("never takes a probe list's stamps as a ban's activity: an expired ban stays expired when the address connects again", async () => {
    const quick = join(work, 'quick.toml');
    const run = (...args: string[]) => runXtban(topology, ['--config', quick, '--state-dir', join(work, 'quick-state'), ...args]);
    writeFileSync(
      quick,
      `[safelist]\nown_addresses = false\n\n[jails.ssh]\nports = [${port}]\nwindow = "2s"\nfamily = "ipv4"\ndetect = { hitcount = 10, seconds = "60s" }\n`,
    );
    expect((await run('teardown')).exitCode).toBe(0);
    expect((await run('apply')).exitCode).toBe(0);
    const target = topology.addresses.fw.ipv4;
    const attacker = topology.addresses.attacker.ipv4;
    expect((await run('ban', attacker)).exitCode).toBe(0);
    expect(await topology.probe(target, port)).toBe('dropped');
    // Silent for longer than the window: the ban runs out. One new connection, far below the hitcount.
    await sleep(2500);
    expect(await topology.probe(target, port)).toBe('open');
    const reaped = await run('reap', '--json');
    expect(reaped.exitCode, reaped.stderr).toBe(0);
    expect(await topology.probe(target, port)).toBe('open');
    const bans = JSON.parse((await run('bans', '--json')).stdout) as { bans: { address: string; state: string }[] };
    expect(bans.bans.find((ban) => ban.address === attacker)?.state).not.toBe('live');
    expect((await run('teardown')).exitCode).toBe(0);
  });
});
