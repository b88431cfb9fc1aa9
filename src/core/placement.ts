import type { Address } from './address.js';
import { dispatchShard } from './dispatch.js';
import { isWithinWindow, timeAfter, type KernelClock, type WordBits } from './jiffies.js';
import type { JailLayout, ListSlot } from './layout.js';

// A list as read just before writing: the entries it holds (canonical address to the jiffies it was
// last seen), or undefined when the list does not exist.
export type ListFill = ReadonlyMap<string, ReadonlyMap<string, number> | undefined>;

// The shard an address's packets go to (core/dispatch.ts), so the one its bans must be in (or the
// tier's spill list). An attacker who chooses addresses can aim at one shard: it fills, the spill list
// takes what its shard has no room for, and beyond that a ban is not placed and said so; a live ban is
// never given up for another.
export function ownShard(layout: JailLayout, address: Address): number {
  return layout.shards <= 1 ? 0 : dispatchShard(address, layout.prefix[address.family], layout.bits);
}

// Whether the kernel still enforces an entry: its last stamp inside the list's window. Without a clock
// nothing can be known, and every entry counts as in force (none is given up).
export function entryInForce(clock: KernelClock | undefined, lastSeen: number, windowSeconds: number): boolean {
  return clock === undefined || isWithinWindow(clock, lastSeen, windowSeconds);
}

// A jail's ban lists of one family and tier, in shard order (the spill list last). Kept per layout: a
// jail of 2,048 shards asks for them once a ban, and a batch holds thousands.
export function tierSlots(layout: JailLayout, family: 4 | 6, tier: number): ListSlot[] {
  let byTier = tierSlotCache.get(layout);
  if (!byTier) {
    byTier = new Map();
    tierSlotCache.set(layout, byTier);
  }
  const key = family * 1000 + tier;
  let slots = byTier.get(key);
  if (!slots) {
    slots = layout.slots.filter((slot) => slot.role === 'ban' && slot.family === family && slot.tier === tier);
    byTier.set(key, slots);
  }
  return slots;
}

const tierSlotCache = new WeakMap<JailLayout, Map<number, ListSlot[]>>();

// The lists of a tier whose entries an address's packets meet: its own shard's and the spill list.
export function reachableSlots(layout: JailLayout, address: Address, tier: number): ListSlot[] {
  const slots = tierSlots(layout, address.family, tier);
  if (layout.shards <= 1) return slots;
  // In shard order, the spill list after the last shard.
  return [slots[ownShard(layout, address)], slots[layout.shards]].filter((slot): slot is ListSlot => slot !== undefined);
}

// Where one ban goes:
// - present: the address is already in its own shard or the spill list, which takes the write (a
//   refresh);
// - placed: into its own shard, or into the tier's spill list when that is full (`moved`); when both
//   are full, `evicts` names the entry taken out first to make room, which is no live ban (the write is
//   then -EVICTS, +ADDR, and the kernel drops nothing by itself), or, for a permanent ban only, the
//   least recently seen live ban that is not permanent (`displaces`: it stays in the store, is reported,
//   and goes back when there is room);
// - missing: its tier's lists do not exist (apply makes them);
// - full: its shard and the spill list are full of live bans: writing would evict one, so nothing is
//   written.
export type Placement =
  | { kind: 'present'; list: string }
  | { kind: 'placed'; list: string; preferred: string; moved: boolean; evicts?: string; displaces?: boolean }
  | { kind: 'missing'; list: string }
  | { kind: 'full'; lists: string[]; preferred: string };

// The share of every list that bans received from the fleet never take: this host's own bans keep it.
export const FLEET_RESERVE_SHARE = 0.1;

// The entries of a list of `capacity` that received bans leave free: a tenth, at least one.
export function fleetReserve(capacity: number): number {
  return Math.max(1, Math.ceil(capacity * FLEET_RESERVE_SHARE));
}

export interface PlacementInput {
  layout: JailLayout;
  capacity: number;
  fill: ListFill;
  wordBits: WordBits;
  // Would losing this entry of this list lose a ban in force: a live ban of the store, or an entry whose
  // last stamp the kernel still counts (packets keep it fresh whatever the store says)?
  isLiveBan: (address: string, lastSeen: number, slot: ListSlot) => boolean;
  // May a permanent ban take this entry's place: a ban of the store that ends (not permanent), which
  // stays there and goes back when there is room? Nothing else is displaced: not a permanent ban, not
  // an entry the store does not know (it could never be put back).
  isDisplaceable?: (address: string) => boolean;
}

// Places bans one after another, each seeing the lists as the ones before left them. Pure: the lists
// as read, the key and a live-ban test come in; the fill it works on is its own copy.
export class PlacementPlanner {
  private readonly fill = new Map<string, Map<string, number> | undefined>();
  // The jiffies a placed entry counts as last seen: newer than anything read, so never an LRU victim.
  private readonly newest: number;

  constructor(private readonly input: PlacementInput) {
    let newest = 0;
    for (const [list, entries] of input.fill) {
      this.fill.set(list, entries === undefined ? undefined : new Map(entries));
      for (const seen of entries?.values() ?? []) if (newest === 0 || timeAfter(seen, newest, input.wordBits)) newest = seen;
    }
    // A write stamps the entry now, after every stamp read: strictly newer, so never tied with them.
    this.newest = newest + 1;
  }

  // Where `address` (masked as the jail bans it) goes at `tier`, and the fill updated as if written.
  // `permanent`: the ban never ends, and outranks live bans that do. A flood of transient bans aimed at
  // its shard then cannot keep it out: it takes the place of the least recently seen of them.
  // `from` 'fleet': a ban another host of the fleet decided. It takes free room only, and never the last
  // tenth of a list (FLEET_RESERVE_SHARE): however many bans a host of the fleet sends, this host's own
  // detection keeps room. It makes no room by evicting or displacing anything.
  place(address: Address, tier: number, permanent = false, from: 'local' | 'fleet' = 'local'): Placement {
    const slots = tierSlots(this.input.layout, address.family, tier);
    const first = slots[0];
    if (!first) return { kind: 'missing', list: `(no list for tier ${tier + 1})` };
    const missing = this.missingOf(slots);
    if (missing) return { kind: 'missing', list: missing };
    // Its own shard, then the spill list: the lists its packets meet.
    const order = reachableSlots(this.input.layout, address, tier);
    const preferred = order[0] ?? first;
    for (const slot of order) {
      const entries = this.fill.get(slot.name);
      if (entries?.has(address.text)) {
        entries.set(address.text, this.newest);
        return { kind: 'present', list: slot.name };
      }
    }
    const room = from === 'fleet' ? this.input.capacity - fleetReserve(this.input.capacity) : this.input.capacity;
    for (const slot of order) {
      const entries = this.fill.get(slot.name);
      if (entries && entries.size < room) {
        entries.set(address.text, this.newest);
        return { kind: 'placed', list: slot.name, preferred: preferred.name, moved: slot !== preferred };
      }
    }
    if (from === 'fleet') return { kind: 'full', lists: order.map((slot) => slot.name), preferred: preferred.name };
    // Both are full. An entry that is no live ban (its window passed, the reaper has not come by) is
    // taken out first, by xtban, so the kernel drops nothing of its own choice: the least recently
    // used entry it would drop may well be a live ban.
    for (const slot of order) {
      const entries = this.fill.get(slot.name);
      if (!entries) continue;
      const victim = this.expendable(entries, slot);
      if (victim === undefined) continue;
      entries.delete(victim);
      entries.set(address.text, this.newest);
      return { kind: 'placed', list: slot.name, preferred: preferred.name, moved: slot !== preferred, evicts: victim };
    }
    for (const slot of permanent ? order : []) {
      const entries = this.fill.get(slot.name);
      if (!entries) continue;
      const victim = this.displaceable(entries);
      if (victim === undefined) continue;
      entries.delete(victim);
      entries.set(address.text, this.newest);
      return { kind: 'placed', list: slot.name, preferred: preferred.name, moved: slot !== preferred, evicts: victim, displaces: true };
    }
    return { kind: 'full', lists: order.map((slot) => slot.name), preferred: preferred.name };
  }

  // The entry a permanent ban may take the place of: the least recently seen displaceable one.
  private displaceable(entries: ReadonlyMap<string, number>): string | undefined {
    const isDisplaceable = this.input.isDisplaceable ?? (() => false);
    let chosen: string | undefined;
    let oldest: number | undefined;
    for (const [address, seen] of entries) {
      if (oldest !== undefined && !timeAfter(oldest, seen, this.input.wordBits)) continue;
      if (!isDisplaceable(address)) continue;
      chosen = address;
      oldest = seen;
    }
    return chosen;
  }

  // The first of these lists that does not exist, asked once per tier: a list does not appear while
  // bans are placed.
  private readonly missing = new Map<ListSlot[], string | undefined>();
  private missingOf(slots: ListSlot[]): string | undefined {
    if (!this.missing.has(slots)) this.missing.set(slots, slots.find((slot) => this.fill.get(slot.name) === undefined)?.name);
    return this.missing.get(slots);
  }

  // The list of its tier that holds the address now, if any: one its packets meet, else any other
  // (a stray, left by a layout of other shards).
  find(address: Address, tier: number): { list: string; reachable: boolean } | undefined {
    const holds = (slot: ListSlot) => this.fill.get(slot.name)?.has(address.text);
    const reachable = reachableSlots(this.input.layout, address, tier).find(holds);
    if (reachable) return { list: reachable.name, reachable: true };
    if (this.input.layout.shards <= 1) return undefined;
    // Any other list of the tier: by the index of every entry read (a restore asks for 100,000 bans,
    // and a jail may have 2,048 lists a tier), checked against the fill as it is now.
    const slots = tierSlots(this.input.layout, address.family, tier);
    const stray = this.listsHolding(address.text).find((list) => slots.some((slot) => slot.name === list) && this.fill.get(list)?.has(address.text));
    return stray === undefined ? undefined : { list: stray, reachable: false };
  }

  // The lists whose entries, as read, include the address (built once, on first use).
  private holding: Map<string, string[]> | undefined;
  private listsHolding(address: string): string[] {
    if (!this.holding) {
      this.holding = new Map();
      for (const [list, entries] of this.input.fill) {
        for (const entry of entries?.keys() ?? []) {
          const lists = this.holding.get(entry);
          if (lists) lists.push(list);
          else this.holding.set(entry, [list]);
        }
      }
    }
    return this.holding.get(address) ?? [];
  }

  // Removes an address from one list in the planner's view (a stray moved out of it).
  drop(list: string, address: Address): void {
    this.fill.get(list)?.delete(address.text);
  }

  // Removes an address from its tier's lists in the planner's view (an unban, a tier move).
  remove(address: Address, tier: number): void {
    for (const slot of tierSlots(this.input.layout, address.family, tier)) this.fill.get(slot.name)?.delete(address.text);
  }

  // The entry of a full list that may make room: the least recently seen that is no live ban.
  private expendable(entries: ReadonlyMap<string, number>, slot: ListSlot): string | undefined {
    let chosen: string | undefined;
    let oldest: number | undefined;
    for (const [address, seen] of entries) {
      if (oldest !== undefined && !timeAfter(oldest, seen, this.input.wordBits)) continue;
      if (this.input.isLiveBan(address, seen, slot)) continue;
      chosen = address;
      oldest = seen;
    }
    return chosen;
  }
}
