import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.js';
import type { Address } from '../../src/core/address.js';
import { jailLayout, type JailLayout } from '../../src/core/layout.js';
import { PlacementPlanner, preferredShard, tierSlots } from '../../src/core/placement.js';

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

describe('preferredShard', () => {
  it('is the same for the same key, depends on the key, and spreads 1,000 bans so that no list of 100 overflows', () => {
    const one = Buffer.alloc(32, 1);
    const two = Buffer.alloc(32, 2);
    const addresses = Array.from({ length: 1000 }, (_, i) => v4(`198.51.${Math.floor(i / 250)}.${i % 250}`));
    const shards = (key: Buffer) => addresses.map((address) => preferredShard(key, address, 16));
    expect(shards(one)).toEqual(shards(Buffer.alloc(32, 1)));
    const differ = shards(one).filter((shard, index) => shard !== shards(two)[index]).length;
    expect(differ).toBeGreaterThan(800);
    const counts = new Map<number, number>();
    for (const shard of shards(one)) counts.set(shard, (counts.get(shard) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(100);
  });
});

describe('PlacementPlanner', () => {
  const key = Buffer.alloc(32, 9);

  it('keeps a permanent ban when addresses chosen for its shard arrive (the targeted eviction)', () => {
    const layout = layoutOf(1000);
    const live = new Set<string>();
    const planner = new PlacementPlanner({ layout, key, capacity: 100, fill: emptyFill(layout), wordBits: 64, isLiveBan: (address) => live.has(address) });
    const permanent = v4('203.0.113.50');
    const first = planner.place(permanent, 0);
    if (first.kind !== 'placed') throw new Error(first.kind);
    live.add(permanent.text);
    // The worst case: the attacker knows the key and sends 150 addresses that all prefer that shard.
    const target = preferredShard(key, permanent, layout.shards);
    const chosen: Address[] = [];
    for (let i = 0; chosen.length < 150; i++) {
      const address = v4(`192.0.${Math.floor(i / 250) % 250}.${i % 250}`);
      if (preferredShard(key, address, layout.shards) === target) chosen.push(address);
    }
    const placements = chosen.map((address) => {
      const placement = planner.place(address, 0);
      live.add(address.text);
      return placement;
    });
    expect(placements.every((placement) => placement.kind === 'placed')).toBe(true);
    expect(placements.filter((placement) => placement.kind === 'placed' && placement.moved).length).toBe(51);
    expect(placements.some((placement) => placement.kind === 'placed' && placement.evicts !== undefined)).toBe(false);
    // The permanent ban is still where it was.
    expect(planner.find(permanent, 0)).toBe(first.list);
  });

  it('says a ban cannot be placed when every list is full of live bans, and writes nothing over them', () => {
    const layout = layoutOf(100);
    const [slot] = tierSlots(layout, 4, 0);
    const full = new Map(Array.from({ length: 100 }, (_, i) => [`192.0.2.${i}`, 1000 + i]));
    const planner = new PlacementPlanner({ layout, key, capacity: 100, fill: new Map([[slot?.name ?? '', full]]), wordBits: 64, isLiveBan: () => true });
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
      key,
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
      key,
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
    const planner = new PlacementPlanner({ layout, key, capacity: 2, fill: new Map([['xtban-ssh', entries]]), wordBits: 32, isLiveBan: () => false });
    const placed = planner.place(v4('198.51.100.1'), 0);
    expect(placed.kind === 'placed' && placed.evicts).toBe('192.0.2.1');
  });

  it('refuses to place into a tier whose lists are missing', () => {
    const layout = layoutOf(300);
    const planner = new PlacementPlanner({ layout, key, capacity: 100, fill: new Map(), wordBits: 64, isLiveBan: () => true });
    expect(planner.place(v4('198.51.100.1'), 0)).toEqual({ kind: 'missing', list: 'xtban-ssh.0' });
  });
});
