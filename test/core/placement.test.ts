import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.js';
import type { Address } from '../../src/core/address.js';
import { jailLayout, type JailLayout } from '../../src/core/layout.js';
import { ownShard, PlacementPlanner, reachableSlots, tierSlots } from '../../src/core/placement.js';

// The jail of the targeted-eviction report: capacity 1000 over lists of 100.
function layoutOf(capacity: number): JailLayout {
  const [jail] = parseConfigText(`[jails.ssh]\nfamily = "ipv4"\ncapacity = ${capacity}\n`, 'p.toml').jails;
  if (!jail) throw new Error('config');
  return jailLayout(jail, 100);
}

function v4(text: string): Address {
  return { family: 4, text };
}

// The lists of a layout, all empty.
function emptyFill(layout: JailLayout): Map<string, Map<string, number>> {
  return new Map(layout.slots.map((slot) => [slot.name, new Map<string, number>()]));
}

describe('ownShard', () => {
  it('is the address bits the dispatch tree tests: 1,000 bans of consecutive addresses over 16 lists of 100 overflow none', () => {
    const layout = layoutOf(1000);
    expect(layout.shards).toBe(16);
    const addresses = Array.from({ length: 1000 }, (_, i) => v4(`198.51.${Math.floor(i / 250)}.${i % 250}`));
    const counts = new Map<number, number>();
    for (const address of addresses) counts.set(ownShard(layout, address), (counts.get(ownShard(layout, address)) ?? 0) + 1);
    expect(counts.size).toBe(16);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(100);
    // The lowest four bits of the address.
    expect(ownShard(layout, v4('192.0.2.37'))).toBe(37 % 16);
    expect(reachableSlots(layout, v4('192.0.2.37'), 0).map((slot) => slot.name)).toEqual(['xtban-ssh.5', 'xtban-ssh.spill']);
  });
});

describe('PlacementPlanner', () => {
  it('keeps a permanent ban when addresses chosen for its shard arrive (the targeted eviction): they spill, then are refused', () => {
    const layout = layoutOf(1000);
    const live = new Set<string>();
    const planner = new PlacementPlanner({ layout, capacity: 100, fill: emptyFill(layout), wordBits: 64, isLiveBan: (address) => live.has(address) });
    const permanent = v4('203.0.113.50');
    const first = planner.place(permanent, 0);
    if (first.kind !== 'placed') throw new Error(first.kind);
    live.add(permanent.text);
    // The attacker knows the bits and sends 250 addresses of that shard.
    const target = ownShard(layout, permanent);
    const chosen: Address[] = [];
    for (let i = 0; chosen.length < 250; i++) {
      const address = v4(`192.0.${Math.floor(i / 250) % 250}.${i % 250}`);
      if (ownShard(layout, address) === target) chosen.push(address);
    }
    const placements = chosen.map((address) => {
      const placement = planner.place(address, 0);
      live.add(address.text);
      return placement;
    });
    // 99 more fill the shard, 100 the spill list; the other 51 are refused, and nothing is evicted.
    expect(placements.filter((placement) => placement.kind === 'placed' && !placement.moved).length).toBe(99);
    expect(placements.filter((placement) => placement.kind === 'placed' && placement.moved && placement.list === 'xtban-ssh.spill').length).toBe(100);
    expect(placements.filter((placement) => placement.kind === 'full').length).toBe(51);
    expect(placements.some((placement) => placement.kind === 'placed' && placement.evicts !== undefined)).toBe(false);
    // The permanent ban is still where it was, and the other shards took none of them.
    expect(planner.find(permanent, 0)).toEqual({ list: first.list, reachable: true });
    const other = v4('203.0.113.51');
    expect(planner.place(other, 0)).toMatchObject({ kind: 'placed', moved: false, list: `xtban-ssh.${ownShard(layout, other)}` });
  });

  it('places a new permanent ban in a shard a flood filled: in the place of the least recently seen ban that ends, never of a permanent one or an entry the store does not know', () => {
    const layout = layoutOf(1000);
    const fill = emptyFill(layout);
    const target = ownShard(layout, v4('203.0.113.50'));
    const shard = `xtban-ssh.${target}`;
    // The shard and the spill list full: 100 live bans that end each, seen at 1000 + i; in the shard,
    // the first two seen are a permanent ban and an entry the store does not know.
    for (const [list, third] of [
      [shard, 1],
      ['xtban-ssh.spill', 2],
    ] as const) {
      for (let i = 0; i < 100; i++) fill.get(list)?.set(`198.18.${third * 10 + (i >> 4)}.${(i & 15) * 16 + target}`, 1000 + i);
    }
    const permanentBefore = `198.18.10.${target}`;
    const unknown = `198.18.10.${16 + target}`;
    // As the store answers: the permanent bans, those placed here included, and the unknown entry are not.
    const permanent = new Set([permanentBefore]);
    const displaceable = (address: string) => !permanent.has(address) && address !== unknown;
    const planner = new PlacementPlanner({ layout, capacity: 100, fill, wordBits: 64, isLiveBan: () => true, isDisplaceable: displaceable });
    // The store records a ban before it is placed.
    const placePermanent = (text: string) => {
      permanent.add(text);
      return planner.place(v4(text), 0, true);
    };
    // A ban that ends has no place: nothing is given up for it.
    expect(planner.place(v4('203.0.113.66'), 0).kind).toBe('full');
    // A permanent one takes the place of the third seen of the shard (its own list, first).
    expect(placePermanent('203.0.113.50')).toEqual({
      kind: 'placed',
      list: shard,
      preferred: shard,
      moved: false,
      evicts: `198.18.10.${32 + target}`,
      displaces: true,
    });
    // The next permanent one of the shard takes the fourth; neither permanent ban is ever displaced.
    const next = placePermanent('203.0.114.50');
    expect(next.kind === 'placed' && next.evicts).toBe(`198.18.10.${48 + target}`);
    for (let i = 0; i < 300; i++) {
      const placement = placePermanent(`198.51.${100 + (i >> 4)}.${(i % 16) * 16 + target}`);
      if (placement.kind !== 'placed') {
        expect(placement.kind).toBe('full');
        continue;
      }
      expect([permanentBefore, unknown, '203.0.113.50', '203.0.114.50']).not.toContain(placement.evicts);
    }
    expect(planner.find(v4('203.0.113.50'), 0)).toEqual({ list: shard, reachable: true });
  });

  it('finds a ban left in a shard its packets do not meet, and never counts it as in place', () => {
    const layout = layoutOf(1000);
    const fill = emptyFill(layout);
    const address = v4('192.0.2.37');
    fill.get('xtban-ssh.9')?.set(address.text, 1000);
    const planner = new PlacementPlanner({ layout, capacity: 100, fill, wordBits: 64, isLiveBan: () => true });
    expect(planner.find(address, 0)).toEqual({ list: 'xtban-ssh.9', reachable: false });
    expect(planner.place(address, 0)).toMatchObject({ kind: 'placed', list: 'xtban-ssh.5', moved: false });
  });

  it('says a ban cannot be placed when every list is full of live bans, and writes nothing over them', () => {
    const layout = layoutOf(100);
    const [slot] = tierSlots(layout, 4, 0);
    const full = new Map(Array.from({ length: 100 }, (_, i) => [`192.0.2.${i}`, 1000 + i]));
    const planner = new PlacementPlanner({ layout, capacity: 100, fill: new Map([[slot?.name ?? '', full]]), wordBits: 64, isLiveBan: () => true });
    expect(planner.place(v4('198.51.100.1'), 0)).toEqual({ kind: 'full', lists: ['xtban-ssh'], preferred: 'xtban-ssh' });
    // An address already listed is a refresh: it takes no room.
    expect(planner.place(v4('192.0.2.5'), 0)).toEqual({ kind: 'present', list: 'xtban-ssh' });
  });

  it('makes room in a full list only by taking out an entry that is no live ban', () => {
    const layout = layoutOf(100);
    const entries = new Map(Array.from({ length: 100 }, (_, i) => [`192.0.2.${i}`, 1000 + i]));
    const expired = new Set(['192.0.2.0']);
    const planner = new PlacementPlanner({
      layout,
      capacity: 100,
      fill: new Map([['xtban-ssh', entries]]),
      wordBits: 64,
      isLiveBan: (address) => !expired.has(address),
    });
    expect(planner.place(v4('198.51.100.1'), 0)).toEqual({ kind: 'placed', list: 'xtban-ssh', preferred: 'xtban-ssh', moved: false, evicts: '192.0.2.0' });
    // Every other entry is a live ban: refused.
    expect(planner.place(v4('198.51.100.2'), 0).kind).toBe('full');
  });

  it('takes out the least recently seen entry that is no live ban, even when a live ban was seen before it', () => {
    const layout = layoutOf(100);
    const entries = new Map(Array.from({ length: 100 }, (_, i) => [`192.0.2.${i}`, 1000 + i]));
    // 192.0.2.0 and .1, seen first, are live; .40 and .41 ran out.
    const over = new Set(['192.0.2.41', '192.0.2.40']);
    const planner = new PlacementPlanner({
      layout,
      capacity: 100,
      fill: new Map([['xtban-ssh', entries]]),
      wordBits: 64,
      isLiveBan: (address) => !over.has(address),
    });
    const first = planner.place(v4('198.51.100.1'), 0);
    expect(first.kind === 'placed' && first.evicts).toBe('192.0.2.40');
    const second = planner.place(v4('198.51.100.2'), 0);
    expect(second.kind === 'placed' && second.evicts).toBe('192.0.2.41');
    expect(planner.place(v4('198.51.100.3'), 0).kind).toBe('full');
  });

  it('compares last-seen stamps as the kernel does on a 32-bit kernel (modulo 2^32)', () => {
    const layout = layoutOf(100);
    // 0xfffffff0 was seen before the counter wrapped to 5.
    const entries = new Map([
      ['192.0.2.1', 0xfffffff0],
      ['192.0.2.2', 5],
    ]);
    const planner = new PlacementPlanner({ layout, capacity: 2, fill: new Map([['xtban-ssh', entries]]), wordBits: 32, isLiveBan: () => false });
    const placed = planner.place(v4('198.51.100.1'), 0);
    expect(placed.kind === 'placed' && placed.evicts).toBe('192.0.2.1');
  });

  it('refuses to place into a tier whose lists are missing', () => {
    const layout = layoutOf(600);
    const planner = new PlacementPlanner({ layout, capacity: 100, fill: new Map(), wordBits: 64, isLiveBan: () => true });
    expect(planner.place(v4('198.51.100.1'), 0)).toEqual({ kind: 'missing', list: 'xtban-ssh.0' });
    expect(layout.shards).toBe(8);
  });
});
