import type { Family } from './address.js';
import type { JailConfig } from './domain.js';

// One kernel list of a jail: the addresses of one family, one tier, one shard. Role 'ban' lists hold
// bans xtban writes; with in-kernel detection, 'probe' counts new connections and 'detect' holds the
// bans the kernel makes by itself.
export interface ListSlot {
  name: string;
  family: Family;
  tier: number;
  shard: number;
  windowSeconds: number;
  role: 'ban' | 'detect' | 'probe';
}

// Every list a jail uses, and how bans are spread over them.
export interface JailLayout {
  jail: string;
  shards: number;
  slots: ListSlot[];
}

// Shards are filled to about this share of ip_list_tot on average, so that the uneven spread of a hash
// never pushes one shard over the limit (1,000 bans over 16 lists of 100: the fullest holds about 90).
export const SHARD_FILL = 0.625;

// How many lists a jail needs so that `capacity` bans fit under the kernel's per-list limit.
export function shardCount(capacity: number | undefined, ipListTot: number): number {
  if (capacity === undefined || capacity <= ipListTot) return 1;
  return Math.ceil(capacity / Math.max(1, Math.floor(ipListTot * SHARD_FILL)));
}

// The kernel list name for a family, mask, tier and shard: `<list>`, then `.v6`, `.m<prefix>` with a mask
// shorter than the address, `.t<tier>` with tiers, `.<shard>` with shards. The kernel keeps the mask a
// list was made with for as long as the list lives: a list of another mask must be another list, so
// that a mask change swaps the lists in the same atomic restore that swaps the rules.
export function slotName(base: string, family: Family, tier: number | undefined, shard: number | undefined, prefix: number = family === 4 ? 32 : 128): string {
  const mask = prefix === (family === 4 ? 32 : 128) ? '' : `.m${prefix}`;
  return `${base}${family === 6 ? '.v6' : ''}${mask}${tier === undefined ? '' : `.t${tier}`}${shard === undefined ? '' : `.${shard}`}`;
}

// The jail's lists, in rule order: family, then tier, then shard.
export function jailLayout(jail: JailConfig, ipListTot: number): JailLayout {
  const shards = shardCount(jail.capacity, ipListTot);
  const tiered = jail.tierWindows.length > 1;
  const slots: ListSlot[] = [];
  for (const family of jail.families) {
    jail.tierWindows.forEach((windowSeconds, tier) => {
      for (let shard = 0; shard < shards; shard++) {
        slots.push({
          name: slotName(jail.list, family, tiered ? tier : undefined, shards > 1 ? shard : undefined, jail.mask[family]),
          family,
          tier,
          shard,
          windowSeconds,
          role: 'ban',
        });
      }
    });
    if (jail.detect) {
      const base = slotName(jail.list, family, undefined, undefined, jail.mask[family]);
      slots.push({ name: `${base}.detect`, family, tier: 0, shard: 0, windowSeconds: jail.tierWindows[0] ?? 3600, role: 'detect' });
      slots.push({ name: `${base}.probe`, family, tier: 0, shard: 0, windowSeconds: jail.detect.seconds, role: 'probe' });
    }
  }
  return { jail: jail.name, shards, slots };
}
