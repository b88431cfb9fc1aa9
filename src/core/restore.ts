import { maskAddress, type Address } from './address.js';
import { effectiveTier, isLive, tierWindowSeconds, type BanRecord } from './bans.js';
import type { JailConfig } from './domain.js';
import { isFleetSource } from './fleet.js';
import type { KernelClock, WordBits } from './jiffies.js';
import type { JailLayout } from './layout.js';
import type { ListWrite } from './list-commands.js';
import { entryInForce, PlacementPlanner, type ListFill } from './placement.js';
import { describeMatch, safelistMatch, type Safelist } from './safelist.js';

// What the kernel holds, per list: each canonical address and the jiffies it was last seen, or
// undefined when the list is missing.
export type KernelView = ListFill;

export interface RestorePlan {
  writes: ListWrite[];
  alreadyPresent: number;
  // Live bans missing from their lists: evicted by a full list, emptied by a reload, or never written.
  // `list` is where the ban goes back (or would have, had there been room).
  missing: { jail: string; address: string; list: string }[];
  skippedSafelisted: { jail: string; address: string; reason: string }[];
  // Bans that cannot go back without evicting a live ban: every list of their tier is full.
  noRoom: { jail: string; address: string; list: string }[];
  // Bans whose list does not exist: `xtban apply` creates it (and restores them).
  listMissing: { jail: string; address: string; list: string }[];
  // Live bans of jails that are no longer in the config.
  unknownJail: { jail: string; address: string }[];
  // Entries a full list gives up for a ban that goes back: no live ban, or (`displaced`) a ban that ends,
  // whose place a permanent ban takes (it is then in noRoom too, until there is room).
  evicts: { jail: string; address: string; list: string; by: string; displaced?: boolean }[];
  // Bans found in a list their packets do not meet (left by a layout of other shards), moved into one
  // they do.
  moved: { jail: string; address: string; from: string; to: string }[];
  // Bans that go back into another shard than their own, which is full.
  spilled: { jail: string; address: string; list: string; preferred: string }[];
}

// The live bans of the store that belong in the kernel, where each goes, and which are missing.
// Pure: the store's records, the lists as read, capacity and the clock come in. A ban found in a list
// its packets do not meet (another shard, left by a layout of other shards) is written where they do,
// then taken out of that one.
export function planRestore(input: {
  jails: readonly JailConfig[];
  layouts: ReadonlyMap<string, JailLayout>;
  bans: readonly BanRecord[];
  kernel: KernelView;
  capacity: number;
  safelist: Safelist;
  nowMs: number;
  wordBits: WordBits;
  // The kernel clock, to keep entries the kernel still enforces; undefined: every entry is kept.
  clock: KernelClock | undefined;
}): RestorePlan {
  const plan: RestorePlan = {
    writes: [],
    alreadyPresent: 0,
    missing: [],
    skippedSafelisted: [],
    noRoom: [],
    listMissing: [],
    unknownJail: [],
    evicts: [],
    moved: [],
    spilled: [],
  };
  const jails = new Map(input.jails.map((jail) => [jail.name, jail]));
  // What goes back, per jail, as the jail masks now: the bans a full list must not give up.
  const wanted = new Map<string, { ban: BanRecord; address: Address; tier: number }[]>();
  for (const ban of input.bans) {
    const jail = jails.get(ban.jail);
    if (!jail || !input.layouts.has(ban.jail)) {
      if (ban.endedAt === null) plan.unknownJail.push({ jail: ban.jail, address: ban.address });
      continue;
    }
    const tier = effectiveTier(ban.tier, jail.tierWindows);
    if (!isLive(ban, tierWindowSeconds(tier, jail.tierWindows), input.nowMs)) continue;
    if (!jail.families.includes(ban.family)) continue;
    // A remote_only jail bans on its central firewalls only: nothing of it goes into this host's lists.
    if (jail.remoteOnly) continue;
    const network = { family: ban.family, address: ban.address, prefix: jail.mask[ban.family] };
    const safe = safelistMatch(input.safelist, network);
    if (safe) {
      plan.skippedSafelisted.push({ jail: ban.jail, address: ban.address, reason: describeMatch(network, safe) });
      continue;
    }
    // A ban made under an older, longer mask goes back as its network.
    const address: Address = maskAddress({ family: ban.family, text: ban.address }, jail.mask[ban.family]);
    let items = wanted.get(ban.jail);
    if (!items) {
      items = [];
      wanted.set(ban.jail, items);
    }
    items.push({ ban, address, tier });
  }
  for (const [name, items] of wanted) {
    const layout = input.layouts.get(name);
    if (!layout) continue;
    const live = new Set(items.map((item) => item.address.text));
    const permanent = new Set(items.filter((item) => item.ban.permanent).map((item) => item.address.text));
    const planner = new PlacementPlanner({
      layout,
      capacity: input.capacity,
      fill: input.kernel,
      wordBits: input.wordBits,
      isLiveBan: (address, lastSeen, slot) => live.has(address) || entryInForce(input.clock, lastSeen, slot.windowSeconds),
      isDisplaceable: (address) => live.has(address) && !permanent.has(address),
    });
    // Bans already in the kernel first, so that none is counted missing because another took its room.
    const absent: ((typeof items)[number] & { stray?: string })[] = [];
    for (const item of items) {
      const where = planner.find(item.address, item.tier);
      if (where === undefined) {
        absent.push(item);
      } else if (!where.reachable) {
        absent.push({ ...item, stray: where.list });
      } else {
        plan.alreadyPresent++;
      }
    }
    // Permanent bans first: they outrank the bans that end, so a full list cannot keep them out. This
    // host's own bans before those the fleet sent, which take free room only.
    absent.sort((a, b) => Number(b.ban.permanent) - Number(a.ban.permanent) || Number(isFleetSource(a.ban.source)) - Number(isFleetSource(b.ban.source)));
    for (const { ban, address, tier, stray } of absent) {
      const placement = planner.place(address, tier, ban.permanent, isFleetSource(ban.source) ? 'fleet' : 'local');
      if (placement.kind === 'present') {
        // Another ban of the same network went back a moment ago.
        plan.alreadyPresent++;
        continue;
      }
      if (placement.kind === 'missing') {
        plan.listMissing.push({ jail: name, address: address.text, list: placement.list });
        continue;
      }
      if (placement.kind === 'full') {
        plan.missing.push({ jail: name, address: address.text, list: placement.preferred });
        plan.noRoom.push({ jail: name, address: address.text, list: placement.lists.join(', ') });
        continue;
      }
      // A stray is in the kernel already, only where its packets do not meet it: a move, not a ban put back.
      if (stray === undefined) plan.missing.push({ jail: name, address: address.text, list: placement.preferred });
      else plan.moved.push({ jail: name, address: address.text, from: stray, to: placement.list });
      if (stray === undefined && placement.moved)
        plan.spilled.push({ jail: name, address: address.text, list: placement.list, preferred: placement.preferred });
      if (placement.evicts !== undefined) {
        plan.evicts.push({
          jail: name,
          address: placement.evicts,
          list: placement.list,
          by: address.text,
          ...(placement.displaces ? { displaced: true } : {}),
        });
        if (placement.displaces) plan.noRoom.push({ jail: name, address: placement.evicts, list: placement.list });
        plan.writes.push({ jail: name, list: placement.list, address: placement.evicts, command: `-${placement.evicts}` });
      }
      plan.writes.push({ jail: name, list: placement.list, address: address.text, command: `+${address.text}` });
      if (stray !== undefined) {
        // Written where its packets meet it, then out of the stray list: never in neither.
        plan.writes.push({ jail: name, list: stray, address: address.text, command: `-${address.text}` });
        planner.drop(stray, address);
      }
    }
  }
  return plan;
}
