// A jail of many shards: its chain sends each packet down a tree of -s VALUE/MASK jumps to the chain of
// its own shard. A model of the kernel's walk (rules in order, -s as (source & mask) == value, jumps and
// RETURN, recent matches counted as met) proves that every address meets the lists of its own shard
// and the spill list only, and that the plans put the tree in place, shrink it and take it away.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { layoutsFor } from '../../src/cli/context.js';
import { parseConfigText } from '../../src/config/parse.js';
import type { Address } from '../../src/core/address.js';
import type { FilterTable } from '../../src/core/iptables-save.js';
import { ownShard } from '../../src/core/placement.js';
import { sourceMatches } from '../helpers/source-match.js';
import { planApply, planTeardown } from '../../src/core/ruleset-plan.js';
import { isSubChainOf, renderJailRules, subChainBase, type JailRules } from '../../src/core/ruleset.js';

function jailOf(toml: string) {
  const config = parseConfigText(toml, 'dispatch.toml');
  const [jail] = config.jails;
  const layout = layoutsFor(config, 100).get(jail?.name ?? '');
  if (!jail || !layout) throw new Error('config');
  return { jail, layout };
}

// Walks a packet from `address` through the jail's chains as the kernel does for a client that is in no
// list: every recent rule met is recorded (none matches), -s jumps are followed, and the walk returns
// at a chain's end.
function walk(rules: JailRules, address: Address): { chains: string[]; recent: string[] } {
  const chains = new Map<string, readonly string[]>([[rules.chain, rules.chainRules], ...rules.subChains.map((chain) => [chain.name, chain.rules] as const)]);
  const seen = { chains: [] as string[], recent: [] as string[] };
  const run = (name: string, depth: number): void => {
    if (depth > 8) throw new Error('too deep');
    seen.chains.push(name);
    for (const rule of chains.get(name) ?? []) {
      const recent = / --name (\S+)/.exec(rule);
      if (recent?.[1]) {
        seen.recent.push(recent[1]);
        continue;
      }
      const jump = /^-A \S+ -s (\S+) -j (\S+)$/.exec(rule);
      if (jump?.[1] && jump[2] && sourceMatches(address, jump[1])) run(jump[2], depth + 1);
    }
  };
  run(rules.chain, 0);
  return seen;
}

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c, d]): Address => ({ family: 4, text: `${a}.${b}.${c}.${d}` }));
const v6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((words): Address => ({ family: 6, text: words.map((word) => word.toString(16)).join(':') }));

describe('the dispatch tree', () => {
  it('holds the spill list in the jail chain and one shard per leaf, in the spelling iptables-save prints', () => {
    const { jail, layout } = jailOf('[jails.ssh]\nports = [22]\nwindow = "1h"\ncapacity = 2000\n');
    const rules = renderJailRules(jail, 4, layout);
    expect(rules.chainRules).toEqual([
      '-A xtban-ssh -m recent --update --seconds 3600 --name xtban-ssh.spill --mask 255.255.255.255 --rsource -j DROP',
      '-A xtban-ssh -s 0.0.0.0/0.0.0.16 -j xtban-ssh.0',
      '-A xtban-ssh -s 0.0.0.16/0.0.0.16 -j xtban-ssh.1',
    ]);
    // 32 shards: a level of one bit, then one of four; 2 inner chains and 32 leaves.
    expect(rules.subChains.length).toBe(34);
    expect(rules.subChains.find((chain) => chain.name === 'xtban-ssh.1')?.rules.slice(0, 2)).toEqual([
      '-A xtban-ssh.1 -s 0.0.0.0/0.0.0.15 -j xtban-ssh.10',
      '-A xtban-ssh.1 -s 0.0.0.1/0.0.0.15 -j xtban-ssh.11',
    ]);
    // No --remove: each recent rule costs the kernel a walk over every list of the namespace.
    expect(rules.subChains.find((chain) => chain.name === 'xtban-ssh.1f')?.rules).toEqual([
      '-A xtban-ssh.1f -m recent --update --seconds 3600 --name xtban-ssh.31 --mask 255.255.255.255 --rsource -j DROP',
    ]);
    const six = renderJailRules(jail, 6, layout);
    expect(six.chainRules[1]).toBe('-A xtban-ssh -s ::/::10 -j xtban-ssh.0');
  });

  it('leads every address to its own shard, past at most 16 compares a level, meeting one recent rule of that shard and one of the spill list a tier', () => {
    const cases = [
      jailOf('[jails.ssh]\nwindow = "1h"\ncapacity = 10000\n'),
      jailOf('[jails.ssh]\ntiers = ["1h", "1d"]\ncapacity = 100000\nmask = { ipv4 = 24, ipv6 = 64 }\n'),
      jailOf('[jails.web]\nwindow = "10m"\ncapacity = 500\nlog = { prefix = "xtban web: ", rate = "6/min" }\n'),
    ];
    const rendered = cases.map(({ jail, layout }) => ({
      layout,
      tiers: jail.tierWindows.length,
      rules: { 4: renderJailRules(jail, 4, layout), 6: renderJailRules(jail, 6, layout) },
    }));
    fc.assert(
      fc.property(fc.oneof(v4, v6), fc.nat(rendered.length - 1), (address, which) => {
        const { layout, tiers, rules } = rendered[which] as (typeof rendered)[number];
        const seen = walk(rules[address.family], address);
        const own = ownShard(layout, address);
        const mine = layout.slots
          .filter((slot) => slot.family === address.family && slot.role === 'ban' && (slot.spill || slot.shard === own))
          .map((slot) => slot.name);
        // Each list of its shard and each spill list once (twice when the jail logs: LOG, then --update).
        expect(new Set(seen.recent)).toEqual(new Set(mine));
        expect(seen.recent.length).toBe(2 * tiers * (cases[which]?.jail.log ? 2 : 1));
        const levels = Math.ceil(layout.bits / 4);
        expect(seen.chains.length).toBe(levels + 1);
      }),
      { numRuns: 300 },
    );
  });

  it('puts the tree in place in one batch, changes nothing the second time, and takes away what a smaller jail no longer has', () => {
    const big = jailOf('[jails.ssh]\nwindow = "1h"\ncapacity = 2000\nfamily = "ipv4"\n');
    const rules = renderJailRules(big.jail, 4, big.layout);
    const empty: FilterTable = { chains: new Map([['INPUT', { policy: 'ACCEPT', rules: [] }]]) };
    const plan = planApply(empty, [rules], 4);
    const lines = plan.script.split('\n');
    // Every chain declared before any rule jumps to it.
    const declared = lines.filter((line) => line.startsWith(':')).length;
    expect(declared).toBe(35);
    expect(lines.findIndex((line) => line.startsWith('-A'))).toBeGreaterThan(lines.findLastIndex((line) => line.startsWith(':')));
    const applied: FilterTable = {
      chains: new Map([
        ['INPUT', { policy: 'ACCEPT', rules: [...rules.jumps.values()] }],
        [rules.chain, { policy: '-', rules: rules.chainRules }],
        ...rules.subChains.map((chain) => [chain.name, { policy: '-', rules: chain.rules }] as [string, { policy: string; rules: string[] }]),
      ]),
    };
    expect(planApply(applied, [rules], 4).script).toBe('');
    // One list again: the tree's 34 chains go after the jail chain is filled anew.
    const small = jailOf('[jails.ssh]\nwindow = "1h"\nfamily = "ipv4"\n');
    const shrunk = planApply(applied, [renderJailRules(small.jail, 4, small.layout)], 4);
    expect(shrunk.findings.filter((finding) => finding.kind === 'dispatch-pruned').map((finding) => finding.detail)).toEqual([
      '34 chains it no longer has: fewer shards',
    ]);
    const shrink = shrunk.script.split('\n');
    expect(shrink.filter((line) => line.startsWith('-X ')).length).toBe(34);
    expect(shrink.findIndex((line) => line.startsWith('-F '))).toBeGreaterThan(shrink.findIndex((line) => line.startsWith('-A xtban-ssh ')));
    expect(shrink.findIndex((line) => line.startsWith('-X '))).toBeGreaterThan(shrink.findLastIndex((line) => line.startsWith('-F ')));
    // Teardown takes the jail chain and its tree, and nothing else.
    const other = new Map(applied.chains).set('xtban-sshd', { policy: '-', rules: [] }).set('xtban-ssh.x', { policy: '-', rules: [] });
    const teardown = planTeardown({ chains: other }, [{ jail: 'ssh', chain: 'xtban-ssh' }], 4).script.split('\n');
    expect(teardown.filter((line) => line.startsWith('-X ')).length).toBe(35);
    expect(teardown).not.toContain('-X xtban-sshd');
    expect(teardown).not.toContain('-X xtban-ssh.x');
  });

  it('names every list a packet always meets before any shard, across jails: the kernel walks lists in the order their first rule went in', () => {
    // A big jail first in the config, then a one-list jail with in-kernel detection.
    const config = parseConfigText(
      '[jails.web]\nports = [80]\nwindow = "1h"\ncapacity = 2000\nfamily = "ipv4"\n\n[jails.ssh]\nports = [22]\nwindow = "1h"\nfamily = "ipv4"\ndetect = { hitcount = 5, seconds = 60 }\n',
      'order.toml',
    );
    const layouts = layoutsFor(config, 100);
    const rendered = config.jails.map((jail) => {
      const layout = layouts.get(jail.name);
      if (!layout) throw new Error('layout');
      return renderJailRules(jail, 4, layout);
    });
    const empty: FilterTable = { chains: new Map([['INPUT', { policy: 'ACCEPT', rules: [] }]]) };
    const firstNamed: string[] = [];
    for (const line of planApply(empty, rendered, 4).script.split('\n')) {
      const name = / --name (\S+)/.exec(line)?.[1];
      if (name !== undefined && !firstNamed.includes(name)) firstNamed.push(name);
    }
    const shards = firstNamed.filter((name) => /^xtban-web\.\d+$/.test(name));
    expect(shards).toHaveLength(32);
    const always = firstNamed.filter((name) => !shards.includes(name));
    expect(always).toEqual(expect.arrayContaining(['xtban-web.spill', 'xtban-ssh']));
    expect(always.some((name) => name.startsWith('xtban-ssh') && name !== 'xtban-ssh')).toBe(true);
    expect(firstNamed.slice(0, always.length)).toEqual(always);
  });

  it('names the chains of a long jail name within 28 characters, and knows them for its own', () => {
    const chain = 'xtban-a-jail-name-of-22ch';
    expect(chain.length).toBe(25);
    const base = subChainBase(chain, 3);
    expect(`${base}.fff`.length).toBeLessThanOrEqual(28);
    expect(base).not.toBe(chain);
    expect(isSubChainOf(`${base}.f`, chain)).toBe(true);
    expect(isSubChainOf(`${base}.fff`, chain)).toBe(true);
    expect(isSubChainOf(`${base}.ffff`, chain)).toBe(false);
    expect(isSubChainOf('xtban-ssh.1f', 'xtban-ssh')).toBe(true);
    expect(isSubChainOf('xtban-ssh.spill', 'xtban-ssh')).toBe(false);
    expect(isSubChainOf('xtban-sshd.1', 'xtban-ssh')).toBe(false);
  });
});
