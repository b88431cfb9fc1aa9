// Durable bans against the real kernel: the store brings bans back after a reload, capacity and
// shards, crashes, concurrency, the safelist and repeat offenders, with real packets where a ban is claimed to hold.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, runXtban, type Topology } from './helpers/netns.js';
import { CLI_MAIN, sleep, workDir } from './helpers/work.js';

const work = workDir('durable');

let files = 0;
function file(text: string, suffix = '.toml'): string {
  const path = join(work, `file-${++files}${suffix}`);
  writeFileSync(path, text);
  return path;
}

interface Harness {
  topology: Topology;
  port: number;
  stateDir: string;
  run(config: string, ...args: string[]): ReturnType<typeof runXtban>;
  list(name: string): Promise<string>;
}

async function harness(name: string): Promise<Harness> {
  const topology = await createTopology(name);
  const server = await topology.startTcpServer(0);
  const stateDir = join(work, `state-${topology.names.fw}`);
  return {
    topology,
    port: server.port,
    stateDir,
    run: (config, ...args) => runXtban(topology, ['--config', config, '--state-dir', stateDir, ...args]),
    list: async (list) => (await topology.exec('fw', 'cat', [`/proc/net/xt_recent/${list}`])).stdout,
  };
}

const count = (text: string) => text.split('\n').filter((line) => line.startsWith('src=')).length;

describeKernel('restore after a reload', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness('reload');
  });
  afterAll(async () => h?.topology.destroy());

  it('brings back the 50 live bans after iptables -F; iptables -X, but not the safelisted or the ended one', async () => {
    const attackers = Array.from({ length: 50 }, (_, i) => `192.0.2.${100 + i}`);
    await h.topology.addAttackerAddresses([...attackers, '192.0.2.200', '192.0.2.201']);
    const before = file(`[safelist]\nown_addresses = true\n\n[jails.ssh]\nports = [${h.port}]\nwindow = "1h"\nfamily = "ipv4"\n`);
    expect((await h.run(before, 'apply')).exitCode).toBe(0);
    const banned = await h.run(before, 'ban', ...attackers, '192.0.2.200', '192.0.2.201');
    expect(banned.exitCode, banned.stderr).toBe(0);
    expect((await h.run(before, 'unban', '192.0.2.201')).exitCode).toBe(0);
    expect(count(await h.list('xtban-ssh'))).toBe(51);

    // An external reload: every rule and chain goes, and with them the lists.
    await h.topology.execOk('fw', 'iptables', ['-F']);
    await h.topology.execOk('fw', 'iptables', ['-X']);
    expect((await h.topology.exec('fw', 'ls', ['/proc/net/xt_recent'])).stdout.trim()).toBe('');
    expect(await h.topology.probe(h.topology.addresses.fw.ipv4, h.port, 400, '192.0.2.100')).toBe('open');

    // Meanwhile 192.0.2.200 joined the safelist.
    const after = file(`[safelist]\naddresses = ["192.0.2.200"]\n\n[jails.ssh]\nports = [${h.port}]\nwindow = "1h"\nfamily = "ipv4"\n`);
    const applied = await h.run(after, 'apply', '--json');
    expect(applied.exitCode, applied.stderr).toBe(0);
    const report = JSON.parse(applied.stdout).restore;
    expect(report.restored).toBe(50);
    expect(report.skippedSafelisted.map((skip: { address: string }) => skip.address)).toEqual(['192.0.2.200']);
    const text = await h.list('xtban-ssh');
    expect(count(text)).toBe(50);
    expect(text).not.toContain('src=192.0.2.200 ');
    expect(text).not.toContain('src=192.0.2.201 ');

    for (const address of [attackers[0], attackers[17], attackers[33], attackers[49]]) {
      expect(await h.topology.probe(h.topology.addresses.fw.ipv4, h.port, 400, address), address).toBe('dropped');
    }
    expect(await h.topology.probe(h.topology.addresses.fw.ipv4, h.port, 400, '192.0.2.200')).toBe('open');
    expect(await h.topology.probe(h.topology.addresses.fw.ipv4, h.port, 400, '192.0.2.201')).toBe('open');

    // Idempotent: nothing more to put back.
    const again = await h.run(after, 'restore', '--json');
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ restored: 0, alreadyPresent: 50 });
    expect(count(await h.list('xtban-ssh'))).toBe(50);

    const bans = JSON.parse((await h.run(after, 'bans', '--json')).stdout).bans as { address: string; state: string; inKernel: boolean }[];
    expect(bans.filter((ban) => ban.state === 'live' && ban.inKernel)).toHaveLength(50);
    expect(bans.find((ban) => ban.address === '192.0.2.201')?.state).toBe('ended');
  });
});

describeKernel('kernel activity kept across a reload', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness('activity');
  });
  afterAll(async () => h?.topology.destroy());

  it('an attacker that kept its ban alive past the window is restored; a silent one is not', async () => {
    await h.topology.addAttackerAddresses(['192.0.2.60']);
    const config = file(`[safelist]\nown_addresses = false\n\n[jails.ssh]\nports = [${h.port}]\nwindow = "3s"\nfamily = "ipv4"\n`);
    expect((await h.run(config, 'apply')).exitCode).toBe(0);
    const busy = h.topology.addresses.attacker.ipv4;
    expect((await h.run(config, 'ban', busy, '192.0.2.60')).exitCode).toBe(0);
    const target = h.topology.addresses.fw.ipv4;
    // 4.5 s of attempts from one address, longer than the 3 s window; the other stays silent.
    const until = Date.now() + 4500;
    while (Date.now() < until) expect(await h.topology.probe(target, h.port, 300)).toBe('dropped');
    const status = await h.run(config, 'status', '--json');
    expect(status.exitCode).toBe(0);
    await h.topology.execOk('fw', 'iptables', ['-F']);
    await h.topology.execOk('fw', 'iptables', ['-X']);
    const applied = JSON.parse((await h.run(config, 'apply', '--json')).stdout);
    expect(applied.restore.putBack.map((entry: { address: string }) => entry.address)).toEqual([busy]);
    expect(await h.topology.probe(target, h.port)).toBe('dropped');
    expect(await h.topology.probe(target, h.port, 400, '192.0.2.60')).toBe('open');
  });
});

describeKernel('capacity, eviction and shards', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness('capacity');
  });
  afterAll(async () => h?.topology.destroy());

  it('of 150 bans into a default list, places 100 and says the 50 others cannot be placed: no live ban is evicted', async () => {
    const config = file('[jails.web]\nports = [80]\nwindow = "1h"\nfamily = "ipv4"\n');
    expect((await h.run(config, 'apply')).exitCode).toBe(0);
    const addresses = Array.from({ length: 150 }, (_, i) => `198.51.100.${i + 1}`);
    const banned = await h.run(config, 'ban', '--json', ...addresses);
    // Some placed, some not: a partial result.
    expect(banned.exitCode, banned.stderr).toBe(1);
    const results = JSON.parse(banned.stdout).results as { address: string; ok: boolean; unplaced?: string[] }[];
    expect(results.filter((result) => result.ok).map((result) => result.address)).toEqual(addresses.slice(0, 100));
    expect(results.filter((result) => result.unplaced).map((result) => result.address)).toEqual(addresses.slice(100));
    const human = await h.run(config, 'ban', '198.51.100.200');
    expect(human.exitCode).toBe(3);
    expect(human.stderr).toContain('not placed: 198.51.100.200 in web: its list (xtban-web) is full of live bans');
    // The first 100 are all still there: nothing was written over them.
    const listed = await h.list('xtban-web');
    expect(count(listed)).toBe(100);
    for (const address of addresses.slice(0, 100)) expect(listed).toContain(`src=${address} `);
    const status = await h.run(config, 'status', '--json');
    const list = JSON.parse(status.stdout).lists.find((candidate: { list: string }) => candidate.list === 'xtban-web');
    expect(list).toMatchObject({ used: 100, capacity: 100, free: 0, evicted: 51 });
    expect(status.stderr).toContain('list xtban-web is 100% full');
    expect(status.stderr).toContain('make room: raise capacity in [jails.web] (no capacity set: ip_list_tot, 100) and run xtban apply');
    expect(status.stderr).toContain('51 live ban(s) of the store are missing');
    const restore = await h.run(config, 'restore', '--json');
    expect(restore.exitCode).toBe(1);
    expect(JSON.parse(restore.stdout).noRoom).toHaveLength(51);
    // Every ban that found no room is on record as such (the metrics count these events).
    const store = new Database(join(h.stateDir, 'bans.sqlite'), { readonly: true });
    try {
      const rows = store.prepare("SELECT action, COUNT(*) AS count FROM events WHERE jail = 'web' AND action IN ('evicted', 'unplaced') GROUP BY action").all();
      expect(rows).toEqual([{ action: 'unplaced', count: 51 }]);
    } finally {
      store.close();
    }
  });

  it('keeps a permanent ban when 150 addresses aimed at its shard are banned: they fill it and spill', async () => {
    const config = file(`[jails.big]\nports = [${h.port}]\nwindow = "1h"\nfamily = "ipv4"\ncapacity = 2000\n`);
    expect((await h.run(config, 'apply')).exitCode).toBe(0);
    const victim = '192.0.2.77';
    await h.topology.addAttackerAddresses([victim]);
    expect((await h.run(config, 'ban', '--permanent', victim)).exitCode).toBe(0);
    // 32 shards, picked by the lowest five bits: anyone can aim at one. The flood's addresses are only
    // banned, never sent from: 198.18.0.0/15, RFC 2544's benchmarking range.
    const chosen = Array.from({ length: 150 }, (_, i) => `198.18.${i}.${77 % 32}`);
    const banned = await h.run(config, 'ban', ...chosen);
    expect(banned.exitCode, banned.stderr).toBe(0);
    const status = JSON.parse((await h.run(config, 'status', '--jail', 'big', '--json')).stdout);
    expect(status.lists).toHaveLength(33);
    const used = (name: string) => status.lists.find((list: { list: string }) => list.list === name)?.used;
    expect(used(`xtban-big.${77 % 32}`)).toBe(100);
    expect(used('xtban-big.spill')).toBe(51);
    expect(status.lists.reduce((sum: number, list: { used: number }) => sum + list.used, 0)).toBe(151);
    expect(status.lists.some((list: { entries: { address: string }[] }) => list.entries.some((entry) => entry.address === victim))).toBe(true);
    expect(await h.topology.probe(h.topology.addresses.fw.ipv4, h.port, 400, victim)).toBe('dropped');
  });

  it('holds and enforces 1,000 bans with capacity = 1000', async () => {
    const config = file(`[jails.big]\nports = [${h.port}]\nwindow = "1h"\nfamily = "ipv6"\ncapacity = 1000\n`);
    const applied = await h.run(config, 'apply');
    expect(applied.exitCode, applied.stderr).toBe(0);
    const addresses = Array.from({ length: 1000 }, (_, i) => `2001:db8::1:${(i + 1).toString(16)}`);
    const sample = addresses.filter((_, i) => i % 50 === 7);
    expect(sample).toHaveLength(20);
    await h.topology.addAttackerAddresses(sample);
    for (const address of sample.slice(0, 3)) expect(await h.topology.probe(h.topology.addresses.fw.ipv6, h.port, 400, address)).toBe('open');
    const banned = await h.run(config, 'ban', ...addresses);
    expect(banned.exitCode, banned.stderr).toBe(0);
    const status = JSON.parse((await h.run(config, 'status', '--jail', 'big', '--json')).stdout);
    expect(status.lists.length).toBeGreaterThan(10);
    expect(status.lists.reduce((sum: number, list: { used: number }) => sum + list.used, 0)).toBe(1000);
    expect(status.lists.reduce((sum: number, list: { evicted: number }) => sum + list.evicted, 0)).toBe(0);
    const shards = new Set<string>();
    for (const address of sample) {
      expect(await h.topology.probe(h.topology.addresses.fw.ipv6, h.port, 400, address), address).toBe('dropped');
      const list = status.lists.find((candidate: { entries: { address: string }[] }) => candidate.entries.some((entry) => entry.address === address));
      shards.add(list.list);
    }
    expect(shards.size).toBeGreaterThan(5);
  });
});

describeKernel('crashes and concurrency', () => {
  let h: Harness;
  let config: string;
  beforeAll(async () => {
    h = await harness('crash');
    config = file('[jails.ssh]\nports = [22]\nwindow = "1h"\nfamily = "ipv6"\ncapacity = 6000\n');
    const applied = await h.run(config, 'apply');
    expect(applied.exitCode, applied.stderr).toBe(0);
  });
  afterAll(async () => h?.topology.destroy());

  it('SIGKILL during a 5,000-ban batch loses no acknowledged ban; the store opens cleanly', async () => {
    const addresses = Array.from({ length: 5000 }, (_, i) => `2001:db8:5::${(i + 1).toString(16)}`);
    const child = spawn(
      'ip',
      ['netns', 'exec', h.topology.names.fw, process.execPath, CLI_MAIN, '--config', config, '--state-dir', h.stateDir, 'ban', ...addresses],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const killed = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        // Kill in the middle of the kernel writes, after some bans were acknowledged.
        if ((output.match(/^banned /gm) ?? []).length >= 200) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    await killed;
    const acknowledged = [...output.matchAll(/^banned (\S+) in ssh/gm)].map((match) => match[1]);
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);

    await h.topology.execOk('fw', 'ip6tables', ['-F']);
    await h.topology.execOk('fw', 'ip6tables', ['-X']);
    const applied = await h.run(config, 'apply', '--json');
    expect(applied.exitCode, applied.stderr).toBe(0);
    const bans = JSON.parse((await h.run(config, 'bans', '--json')).stdout).bans as { address: string; inKernel: boolean }[];
    const inKernel = new Set(bans.filter((ban) => ban.inKernel).map((ban) => ban.address));
    for (const address of acknowledged) expect(inKernel.has(address ?? ''), address).toBe(true);
  });

  it('200 concurrent `xtban ban` processes leave 200 bans in the store and in the kernel', async () => {
    const addresses = Array.from({ length: 200 }, (_, i) => `2001:db8:200::${(i + 1).toString(16)}`);
    const results = await Promise.all(addresses.map((address) => h.run(config, 'ban', address, '--source', 'fail2ban')));
    const failures = results.filter((result) => result.exitCode !== 0);
    expect(failures.map((failure) => failure.stderr)).toEqual([]);
    const bans = JSON.parse((await h.run(config, 'bans', '--json')).stdout).bans as { address: string; inKernel: boolean; source: string }[];
    const mine = bans.filter((ban) => ban.address.startsWith('2001:db8:200::'));
    expect(mine).toHaveLength(200);
    expect(mine.every((ban) => ban.inKernel && ban.source === 'fail2ban')).toBe(true);
  }, 180_000);
});

describeKernel('safelist', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness('safelist');
  });
  afterAll(async () => h?.topology.destroy());

  it('refuses safelisted addresses, the host own address and CIDR members with exit 4; a broken file stops the command', async () => {
    const safe = file('# friends\n198.51.100.0/25\n', '.txt');
    const config = file(`[safelist]\naddresses = ["203.0.113.9"]\nfiles = ["${safe}"]\n\n[jails.ssh]\nports = [${h.port}]\nwindow = "1h"\n`);
    expect((await h.run(config, 'apply')).exitCode).toBe(0);
    for (const [address, why] of [
      ['203.0.113.9', '203.0.113.9 is safelisted (203.0.113.9 from'],
      ['198.51.100.77', `198.51.100.77 is safelisted (198.51.100.0/25 from ${safe}:2)`],
      [h.topology.addresses.fw.ipv4, 'own address on xtb-fw'],
      ['127.0.0.1', 'loopback'],
    ] as const) {
      const result = await h.run(config, 'ban', '192.0.2.50', address);
      expect(result.exitCode, address).toBe(4);
      expect(result.stderr).toContain(why);
    }
    expect(count(await h.list('xtban-ssh'))).toBe(0);
    expect(JSON.parse((await h.run(config, 'bans', '--json')).stdout).bans).toEqual([]);
    expect((await h.run(config, 'ban', '198.51.100.200')).exitCode).toBe(0);

    writeFileSync(safe, '198.51.100.0/25\n198.51.100.999\n');
    const broken = await h.run(config, 'ban', '192.0.2.51');
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toContain(`safelist ${safe}:2: "198.51.100.999" is not an address or CIDR`);
    expect(await h.list('xtban-ssh')).not.toContain('192.0.2.51');
  });

  it('a masked ban that would cover a safe address is refused; without it the whole range is dropped', async () => {
    const guarded = file(`[jails.net]\nports = [${h.port}]\nwindow = "1h"\nfamily = "ipv4"\nmask = { ipv4 = 24 }\n`);
    expect((await h.run(guarded, 'apply')).exitCode).toBe(0);
    const refused = await h.run(guarded, 'ban', '192.0.2.77');
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toContain('192.0.2.0/24 is safelisted (192.0.2.1 from own address on xtb-fw)');
    const open = file(`[safelist]\nown_addresses = false\n\n[jails.net]\nports = [${h.port}]\nwindow = "1h"\nfamily = "ipv4"\nmask = { ipv4 = 24 }\n`);
    expect(await h.topology.probe(h.topology.addresses.fw.ipv4, h.port)).toBe('open');
    const banned = await h.run(open, 'ban', '192.0.2.77');
    expect(banned.exitCode, banned.stderr).toBe(0);
    expect(banned.stdout).toContain('banned 192.0.2.0 in net');
    expect(await h.list('xtban-net.m24')).toContain('src=192.0.2.0 ');
    // The attacker 192.0.2.2 was never named, but its /24 was.
    expect(await h.topology.probe(h.topology.addresses.fw.ipv4, h.port)).toBe('dropped');
    expect((await h.run(open, 'unban', '192.0.2.2')).exitCode).toBe(0);
    expect(await h.topology.probe(h.topology.addresses.fw.ipv4, h.port)).toBe('open');
  });
});

describeKernel('repeat offenders', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness('tiers');
  });
  afterAll(async () => h?.topology.destroy());

  it('a ban after the first window passed lands in the second tier with the second window', async () => {
    const config = file(`[jails.ssh]\nports = [${h.port}]\ntiers = ["2s", "8s"]\nfamily = "ipv4"\n`);
    expect((await h.run(config, 'apply')).exitCode).toBe(0);
    const attacker = h.topology.addresses.attacker.ipv4;
    const target = h.topology.addresses.fw.ipv4;
    expect((await h.run(config, 'ban', attacker)).exitCode).toBe(0);
    expect(await h.list('xtban-ssh.t0')).toContain(`src=${attacker} `);
    await sleep(2600);
    expect(await h.topology.probe(target, h.port)).toBe('open');

    const again = await h.run(config, 'ban', attacker);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('tier 2 of 2, offence 2');
    expect(await h.list('xtban-ssh.t1')).toContain(`src=${attacker} `);
    expect(await h.list('xtban-ssh.t0')).not.toContain(`src=${attacker} `);
    const status = JSON.parse((await h.run(config, 'status', '--json')).stdout);
    expect(status.lists.find((list: { list: string }) => list.list === 'xtban-ssh.t1')).toMatchObject({ windowSeconds: 8, live: 1 });
    // Past the first tier's window, still dropped: the second window holds.
    await sleep(3000);
    expect(await h.topology.probe(target, h.port)).toBe('dropped');
    const bans = JSON.parse((await h.run(config, 'bans', '--json')).stdout).bans;
    expect(bans[0]).toMatchObject({ address: attacker, offences: 2, tier: 1, state: 'live', list: 'xtban-ssh.t1' });
  });
});
