import type { Family } from './address.js';
import { dispatchBits, powerOfTwoAtLeast } from './dispatch.js';
import type { JailConfig } from './domain.js';

// One kernel list of a jail: the addresses of one family, one tier, one shard. Role 'ban' lists hold
// bans xtban writes; with in-kernel detection, 'probe' counts new connections and 'detect' holds the
// bans the kernel makes by itself.
export interface ListSlot {
  name: string;
  family: Family;
  tier: number;
  // The shard; a tier's spill list (its lists' overflow, which every packet meets) has the number
  // after the last shard.
  shard: number;
  spill: boolean;
  windowSeconds: number;
  role: 'ban' | 'detect' | 'probe';
}

// Every list a jail uses, and how bans are spread over them. With several shards, `bits` address bits
// pick an address's shard (core/dispatch.ts); each tier also has a spill list for the bans whose own
// shard is full.
export interface JailLayout {
  jail: string;
  shards: number;
  bits: number;
  // The jail's prefix per family: the address bits that pick a shard are the lowest of these.
  prefix: Record<Family, number>;
  slots: ListSlot[];
}

// Shards are filled to about this share of ip_list_tot on average, so that the uneven spread of a hash
// rarely pushes one shard over the limit (10,000 bans over 128 lists of 100: about 78 each, the fullest
// about 100; what spills goes to the spill list). Fewer lists make a shorter walk for the kernel, which
// finds a list by walking every list of the namespace.
export const SHARD_FILL = 0.8;

// The most shards a jail has: 16 address bits, four levels of the dispatch tree.
export const MAX_SHARD_BITS = 16;

// How many lists a jail needs so that `capacity` bans fit under the kernel's per-list limit: a power of
// two, for the address bits that pick one, and no more than the jail's shortest prefix has bits for.
export function shardCount(capacity: number | undefined, ipListTot: number, shortestPrefix = 32): number {
  if (capacity === undefined || capacity <= ipListTot) return 1;
  const needed = powerOfTwoAtLeast(Math.ceil(capacity / Math.max(1, Math.floor(ipListTot * SHARD_FILL))));
  return Math.min(needed, 2 ** Math.min(MAX_SHARD_BITS, shortestPrefix));
}

// The kernel list name for a family, mask, tier and shard: `<list>`, then `.v6`, `.m<prefix>` with a mask
// shorter than the address, `.t<tier>` with tiers, `.<shard>` with shards (`.spill` for the spill list). The kernel keeps the mask a
// list was made with for as long as the list lives: a list of another mask must be another list, so
// that a mask change swaps the lists in the same atomic restore that swaps the rules.
export function slotName(
  base: string,
  family: Family,
  tier: number | undefined,
  shard: number | 'spill' | undefined,
  prefix: number = family === 4 ? 32 : 128,
): string {
  const mask = prefix === (family === 4 ? 32 : 128) ? '' : `.m${prefix}`;
  return `${base}${family === 6 ? '.v6' : ''}${mask}${tier === undefined ? '' : `.t${tier}`}${shard === undefined ? '' : `.${shard}`}`;
}

// The jail's lists, in rule order: family, then tier, then shard (the spill list last).
export function jailLayout(jail: JailConfig, ipListTot: number): JailLayout {
  const shards = shardCount(jail.capacity, ipListTot, Math.min(...jail.families.map((family) => jail.mask[family])));
  const tiered = jail.tierWindows.length > 1;
  const slots: ListSlot[] = [];
  for (const family of jail.families) {
    jail.tierWindows.forEach((windowSeconds, tier) => {
      const ban = { family, tier, windowSeconds, role: 'ban' as const };
      for (let shard = 0; shard < shards; shard++) {
        slots.push({
          ...ban,
          name: slotName(jail.list, family, tiered ? tier : undefined, shards > 1 ? shard : undefined, jail.mask[family]),
          shard,
          spill: false,
        });
      }
      if (shards > 1)
        slots.push({ ...ban, name: slotName(jail.list, family, tiered ? tier : undefined, 'spill', jail.mask[family]), shard: shards, spill: true });
    });
    if (jail.detect) {
      const base = slotName(jail.list, family, undefined, undefined, jail.mask[family]);
      const one = { family, tier: 0, shard: 0, spill: false };
      slots.push({ ...one, name: `${base}.detect`, windowSeconds: jail.tierWindows[0] ?? 3600, role: 'detect' });
      slots.push({ ...one, name: `${base}.probe`, windowSeconds: jail.detect.seconds, role: 'probe' });
    }
  }
  return { jail: jail.name, shards, bits: dispatchBits(shards), prefix: { ...jail.mask }, slots };
}
