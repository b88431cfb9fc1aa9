import { maskAddress, type Address } from './address.js';
import { effectiveTier, isLive, type BanRecord } from './bans.js';
import type { JailConfig } from '../config/schema.js';
import { slotFor, type JailLayout } from './layout.js';
import type { ListWrite } from './list-commands.js';
import { describeMatch, safelistMatch, type Safelist } from './safelist.js';

// What the kernel holds, per list: the canonical addresses in it, or undefined when the list is missing.
export type KernelView = ReadonlyMap<string, ReadonlySet<string> | undefined>;

export interface RestorePlan {
  writes: ListWrite[];
  alreadyPresent: number;
  // Live bans missing from a list that exists: evicted by a full list, emptied by a reload, or never written.
  missing: { jail: string; address: string; list: string }[];
  skippedSafelisted: { jail: string; address: string; reason: string }[];
  // Bans that could not go back because their list is full.
  noRoom: { jail: string; address: string; list: string }[];
  // Bans whose list does not exist: `xtban apply` creates it (and restores them).
  listMissing: { jail: string; address: string; list: string }[];
  // Live bans of jails that are no longer in the config.
  unknownJail: { jail: string; address: string }[];
}

// The live bans of the store that belong in the kernel, where each belongs, and which are missing.
// Pure: the store's records, the lists as read, capacity and the clock come in.
export function planRestore(input: {
  jails: readonly JailConfig[];
  layouts: ReadonlyMap<string, JailLayout>;
  bans: readonly BanRecord[];
  kernel: KernelView;
  capacity: number;
  safelist: Safelist;
  nowMs: number;
}): RestorePlan {
  const plan: RestorePlan = { writes: [], alreadyPresent: 0, missing: [], skippedSafelisted: [], noRoom: [], listMissing: [], unknownJail: [] };
  const room = new Map<string, number>();
  for (const [list, addresses] of input.kernel) if (addresses) room.set(list, input.capacity - addresses.size);
  const jails = new Map(input.jails.map((jail) => [jail.name, jail]));
  // Masked bans of one network go back once.
  const planned = new Set<string>();
  for (const ban of input.bans) {
    const jail = jails.get(ban.jail);
    const layout = input.layouts.get(ban.jail);
    if (!jail || !layout) {
      if (ban.endedAt === null) plan.unknownJail.push({ jail: ban.jail, address: ban.address });
      continue;
    }
    const tier = effectiveTier(ban.tier, jail.tierWindows);
    if (!isLive(ban, jail.tierWindows[tier] ?? 0, input.nowMs)) continue;
    if (!jail.families.includes(ban.family)) continue;
    const network = { family: ban.family, address: ban.address, prefix: jail.mask[ban.family] };
    const safe = safelistMatch(input.safelist, network);
    if (safe) {
      plan.skippedSafelisted.push({ jail: ban.jail, address: ban.address, reason: describeMatch(network, safe) });
      continue;
    }
    // As the jail masks now: a ban made under an older, longer mask goes back as its network.
    const address: Address = maskAddress({ family: ban.family, text: ban.address }, jail.mask[ban.family]);
    const slot = slotFor(layout, address, tier);
    if (!slot) continue;
    const present = input.kernel.get(slot.name);
    if (present === undefined) {
      plan.listMissing.push({ jail: ban.jail, address: address.text, list: slot.name });
      continue;
    }
    const key = `${slot.name} ${address.text}`;
    if (present.has(address.text) || planned.has(key)) {
      plan.alreadyPresent++;
      continue;
    }
    plan.missing.push({ jail: ban.jail, address: address.text, list: slot.name });
    const left = room.get(slot.name) ?? 0;
    if (left <= 0) {
      plan.noRoom.push({ jail: ban.jail, address: address.text, list: slot.name });
      continue;
    }
    room.set(slot.name, left - 1);
    planned.add(key);
    plan.writes.push({ jail: ban.jail, list: slot.name, address: address.text, command: `+${address.text}` });
  }
  return plan;
}
