// A jail of many shards against the real kernel: 10,000 bans per family in 128 shards, one SYN from each
// banned address and from as many others (spoofed from the attacker namespace, so that 20,000 clients
// need no addresses), rule counters to show what dropped and which branches each packet took, and a
// flood aimed at one shard. IPv4 bans come from 198.18.0.0/15 (RFC 2544's benchmarking range, never
// routed): the three documentation /24s hold only 768 addresses.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, runXtban, type Topology } from './helpers/netns.js';
import { workDir } from './helpers/work.js';

const work = workDir('dispatch');
const SPOOF = fileURLToPath(new URL('./helpers/spoof-syn.py', import.meta.url));
const BANS = 10_000;

// The i-th address of a family's banned or passing set: IPv4 in 198.18.0.0/16 (banned) and
// 198.19.0.0/16 (passing), IPv6 in 2001:db8:b::/64 and 2001:db8:c::/64; consecutive, so every shard
// gets its share.
function address(family: 4 | 6, banned: boolean, i: number): string {
  if (family === 4) return `198.${banned ? 18 : 19}.${i >> 8}.${i & 0xff}`;
  return `2001:db8:${banned ? 'b' : 'c'}::${i.toString(16)}`;
}

const range = (count: number, from = 0) => Array.from({ length: count }, (_, i) => from + i);

// Rule counters of the jail's chains, from iptables-save -c: the drops of its recent rules, and how many
// packets each dispatch jump passed on.
function counters(save: string): { drops: number; jumps: Map<string, number>; rules: Map<string, string[]> } {
  let drops = 0;
  const jumps = new Map<string, number>();
  const rules = new Map<string, string[]>();
  for (const line of save.split('\n')) {
    const match = /^\[(\d+):\d+\] -A (xtban-ssh\S*) (.*)$/.exec(line);
    if (!match) continue;
    const [, packets = '0', chain = '', rest = ''] = match;
    rules.set(chain, [...(rules.get(chain) ?? []), rest]);
    if (rest.includes('-m recent') && rest.endsWith('-j DROP')) drops += Number(packets);
    const jump = / -j (xtban-ssh\.[0-9a-f]+)$/.exec(rest);
    if (jump?.[1]) jumps.set(jump[1], (jumps.get(jump[1]) ?? 0) + Number(packets));
  }
  return { drops, jumps, rules };
}

describeKernel('a jail of 128 shards with real packets', () => {
  let topology: Topology;
  let port: number;
  let config: string;
  const state = join(work, 'state');
  const xtban = (...args: string[]) => runXtban(topology, ['--config', config, '--state-dir', state, ...args], { timeoutMs: 120_000 });
  const save = async (family: 4 | 6) => (await topology.execOk('fw', family === 4 ? 'iptables-save' : 'ip6tables-save', ['-c'])).stdout;
  const zero = async () => {
    await topology.execOk('fw', 'iptables', ['-Z']);
    await topology.execOk('fw', 'ip6tables', ['-Z']);
  };
  const send = async (sources: readonly string[]) => {
    const mac = (await topology.execOk('fw', 'cat', [`/sys/class/net/${topology.interfaces.fw}/address`])).stdout.trim();
    const sent = await topology.execOk(
      'attacker',
      'python3',
      [SPOOF, topology.interfaces.attacker, mac, topology.addresses.fw.ipv4, topology.addresses.fw.ipv6, String(port)],
      { input: `${sources.join('\n')}\n`, timeoutMs: 60_000 },
    );
    expect(Number(sent.stdout.trim())).toBe(sources.length);
  };

  beforeAll(async () => {
    topology = await createTopology('dispatch');
    port = (await topology.startTcpServer(0)).port;
    // Spoofed sources lie off the link: no reverse-path check may drop them before INPUT.
    await topology.execOk('fw', 'sysctl', ['-qw', 'net.ipv4.conf.all.rp_filter=0', `net.ipv4.conf.${topology.interfaces.fw}.rp_filter=0`]);
    config = join(work, 'xtban.toml');
    writeFileSync(config, `[jails.ssh]\nports = [${port}]\nwindow = "1h"\ncapacity = ${BANS}\n`);
    const applied = await xtban('apply');
    expect(applied.exitCode, applied.stderr).toBe(0);
    // ip_list_tot 100 (this kernel's): apply says what one list would need and writes it for modprobe
    // (into the tests' own directory, never the host's /etc/modprobe.d).
    expect(applied.stdout).toMatch(/list size: ip_list_tot is 100; one list a jail needs 10000 for ssh \(capacity 10000: 128 shards\)/);
    const conf = readFileSync(join(process.env['XTBAN_MODPROBE_DIR'] ?? '', 'xtban.conf'), 'utf8');
    expect(conf).toMatch(/^options xt_recent ip_list_tot=10000$/m);
    const size = JSON.parse((await xtban('status', '--json')).stdout).capacity;
    expect(size).toMatchObject({ ipListTot: 100, wanted: 10_000, sharded: [{ jail: 'ssh', capacity: 10_000, shards: 128 }] });
    expect(size.takesEffect).toMatch(size.loading === 'builtin' ? /kernel command line/ : /next load|not loaded/);
    // What passes the jail reaches this rule (the test's own, after the jail's jump).
    await topology.execOk('fw', 'iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', String(port)]);
    await topology.execOk('fw', 'ip6tables', ['-A', 'INPUT', '-p', 'tcp', '--dport', String(port)]);
  }, 60_000);
  afterAll(async () => topology?.destroy());

  for (const family of [4, 6] as const) {
    it(`IPv${family}: holds ${BANS.toLocaleString('en')} bans, drops a SYN from each, lets ${BANS.toLocaleString('en')} others through, each down its one branch`, async () => {
      const banned = range(BANS).map((i) => address(family, true, i));
      for (let at = 0; at < banned.length; at += 2500) {
        const result = await xtban('ban', ...banned.slice(at, at + 2500));
        expect(result.exitCode, result.stderr).toBe(0);
      }
      const status = JSON.parse((await xtban('status', '--json')).stdout) as { lists: { list: string; entries: unknown[] }[] };
      const mine = status.lists.filter((list) => (family === 4 ? !list.list.includes('.v6') : list.list.includes('.v6')));
      expect(mine.length).toBe(129);
      expect(mine.reduce((sum, list) => sum + list.entries.length, 0)).toBe(BANS);
      // Consecutive addresses: 78 or 79 a shard, none spilled.
      expect(mine.find((list) => list.list.endsWith('.spill'))?.entries.length).toBe(0);

      await zero();
      await send(banned);
      const afterBanned = counters(await save(family));
      expect(afterBanned.drops).toBe(BANS);
      // Two levels, of 8 branches and of 16: every packet took one jump at each, so the jumps passed 2 × 10,000.
      expect([...afterBanned.jumps.values()].reduce((sum, packets) => sum + packets, 0)).toBe(2 * BANS);

      await zero();
      const passing = range(BANS).map((i) => address(family, false, i));
      await send(passing);
      const afterPassing = counters(await save(family));
      expect(afterPassing.drops).toBe(0);
      const reached = /^\[(\d+):\d+\] -A INPUT -p tcp -m tcp --dport \d+$/m.exec(await save(family));
      expect(Number(reached?.[1])).toBe(BANS);

      // One packet from one client that is not banned: one jump a level, to its own shard's chain, whose
      // recent rule and the jail chain's (the spill list) are all it meets.
      await zero();
      const one = address(family, false, 0x2a7);
      await send([one]);
      const path = counters(await save(family));
      const taken = [...path.jumps].filter(([, packets]) => packets > 0).map(([chain]) => chain);
      const shard = 0x2a7 & 0x7f;
      expect(taken).toEqual([`xtban-ssh.${(shard >> 4).toString(16)}`, `xtban-ssh.${shard.toString(16).padStart(2, '0')}`]);
      const leaf = path.rules.get(taken[1] ?? '') ?? [];
      const recentInLeaf = leaf.filter((rule) => rule.includes('-m recent'));
      const recentInJail = (path.rules.get('xtban-ssh') ?? []).filter((rule) => rule.includes('-m recent'));
      expect(recentInLeaf.length + recentInJail.length).toBe(2);
      expect(recentInLeaf.every((rule) => rule.includes(`--name xtban-ssh${family === 6 ? '.v6' : ''}.${shard} `))).toBe(true);
    }, 180_000);
  }

  it('an address flood aimed at the shard of a permanent ban evicts nothing: it fills the shard and the spill list, then is refused and said so; a new permanent ban still gets in', async () => {
    const victim = '198.18.200.77';
    const permanent = await xtban('ban', '--permanent', victim);
    expect(permanent.exitCode, permanent.stderr).toBe(0);
    // 300 addresses whose lowest seven bits are the victim's: its shard (78 bans already, and the victim)
    // and the spill list (empty) take 121 of them; 179 are not placed.
    const flood = [
      ...range(216, 40)
        .filter((third) => third !== 200)
        .map((third) => `198.18.${third}.77`),
      ...range(85, 100).map((third) => `198.19.${third}.77`),
    ];
    expect(flood.length).toBe(300);
    const result = await xtban('ban', '--json', ...flood);
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as { results: { address: string; ok: boolean; list: string | null; unplaced?: string[] }[] };
    expect(report.results.filter((entry) => entry.ok && entry.list === 'xtban-ssh.77').length).toBe(21);
    expect(report.results.filter((entry) => entry.ok && entry.list === 'xtban-ssh.spill').length).toBe(100);
    expect(report.results.filter((entry) => entry.unplaced !== undefined).map((entry) => entry.unplaced)).toEqual(
      Array(179).fill(['xtban-ssh.77', 'xtban-ssh.spill']),
    );
    expect(result.stderr).toMatch(/not placed: 198\.19\.184\.77 in ssh/);
    const status = JSON.parse((await xtban('status', '--json')).stdout) as { lists: { list: string; entries: { address: string }[] }[] };
    const home = status.lists.find((list) => list.list === `xtban-ssh.${77}`);
    expect(home?.entries.length).toBe(100);
    expect(home?.entries.some((entry) => entry.address === victim)).toBe(true);
    expect(status.lists.find((list) => list.list === 'xtban-ssh.spill')?.entries.length).toBe(100);
    // The permanent ban still drops.
    await zero();
    await send([victim]);
    expect(counters(await save(4)).drops).toBe(1);

    // A new permanent ban aimed at the full shard is not kept out: it takes the place of the least
    // recently seen ban there that ends (one of the 78 banned first), which stays in the store.
    const late = '198.19.190.77';
    const placed = await xtban('ban', '--permanent', '--json', late);
    expect(placed.exitCode, placed.stderr).toBe(0);
    const [lateResult] = (JSON.parse(placed.stdout) as { results: { ok: boolean; list: string; displaced?: string }[] }).results;
    expect(lateResult).toMatchObject({ ok: true, list: 'xtban-ssh.77' });
    expect(lateResult?.displaced).toMatch(/^198\.18\.([0-9]|[1-3][0-9])\.(77|205)$/);
    const human = await xtban('ban', '--permanent', '198.19.191.77');
    expect(human.stdout).toMatch(/in place of 198\.18\.\d+\.(77|205), a ban that ends/);
    await zero();
    await send([late, '198.19.191.77', victim]);
    expect(counters(await save(4)).drops).toBe(3);
    const after = JSON.parse((await xtban('status', '--json')).stdout) as { lists: { list: string; entries: { address: string }[] }[] };
    const shard = after.lists.find((list) => list.list === 'xtban-ssh.77')?.entries.map((entry) => entry.address) ?? [];
    expect(shard).toHaveLength(100);
    expect(shard).not.toContain(lateResult?.displaced);
    expect(shard).toEqual(expect.arrayContaining([victim, late, '198.19.191.77']));
  }, 120_000);
});
