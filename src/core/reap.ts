import { effectiveTier, isLive, tierWindowSeconds, type BanRecord } from './bans.js';
import { isWithinWindow, type KernelClock } from './jiffies.js';
import type { JailConfig } from './domain.js';
import type { ListSlot } from './layout.js';
import type { RecentEntry } from './proc-format.js';
import { safelistMatch, type Safelist } from './safelist.js';

// One kernel list as read for reaping.
export interface ReapInput {
  jail: JailConfig;
  slot: ListSlot;
  entries: readonly RecentEntry[];
}

export interface ReapAction {
  jail: string;
  list: string;
  address: string;
  // The stamp the decision was made on: a removal is dropped if the entry has a newer one by then.
  lastSeen: number;
  reason: 'stale' | 'safelisted' | 'refresh';
}

export interface ReapPlan {
  // -ADDR writes, each re-checked before it is made.
  remove: ReapAction[];
  // +ADDR writes for bans the store holds live (or permanent) whose kernel entry went stale.
  refresh: ReapAction[];
  kept: { live: number; permanent: number };
  // Store bans to end because their entry was reaped and the store agrees they are over.
  end: { jail: string; address: string }[];
}

// Decides, per entry of every list, what the reaper does. Pure: lists, store, safelist and clock come in.
// - safelisted: removed (it should never have been there);
// - stale by the kernel's rule (no stamp inside the list's window) and not live in the store: removed,
//   and an open store ban for it is ended;
// - stale in the kernel but live or permanent in the store: refreshed with +ADDR, never removed;
// - otherwise kept.
export function planReap(lists: readonly ReapInput[], bans: readonly BanRecord[], safelist: Safelist, clock: KernelClock, nowMs: number): ReapPlan {
  // Bans by jail, then address: one lookup per entry without building a key string.
  const byJail = new Map<string, Map<string, BanRecord>>();
  for (const ban of bans) {
    let mine = byJail.get(ban.jail);
    if (!mine) {
      mine = new Map();
      byJail.set(ban.jail, mine);
    }
    mine.set(ban.address, ban);
  }
  const checkSafelist = safelist.entries.length > 0;
  const plan: ReapPlan = { remove: [], refresh: [], kept: { live: 0, permanent: 0 }, end: [] };
  for (const { jail, slot, entries } of lists) {
    const jailBans = byJail.get(jail.name);
    const action = (entry: RecentEntry, reason: ReapAction['reason']): ReapAction => ({
      jail: jail.name,
      list: slot.name,
      address: entry.address,
      lastSeen: entry.lastSeen,
      reason,
    });
    for (const entry of entries) {
      if (checkSafelist && safelistMatch(safelist, { family: entry.family, address: entry.address, prefix: jail.mask[entry.family] })) {
        plan.remove.push(action(entry, 'safelisted'));
        continue;
      }
      const ban = jailBans?.get(entry.address);
      const banTier = ban ? effectiveTier(ban.tier, jail.tierWindows) : undefined;
      const owned = ban !== undefined && slot.role === 'ban' && banTier === slot.tier;
      if (isWithinWindow(clock, entry.lastSeen, slot.windowSeconds)) {
        if (owned && ban.permanent) plan.kept.permanent++;
        else plan.kept.live++;
        continue;
      }
      if (owned && isLive(ban, tierWindowSeconds(ban.tier, jail.tierWindows), nowMs)) {
        plan.refresh.push(action(entry, 'refresh'));
        if (ban.permanent) plan.kept.permanent++;
        else plan.kept.live++;
        continue;
      }
      plan.remove.push(action(entry, 'stale'));
      if (owned && ban.endedAt === null) plan.end.push({ jail: jail.name, address: entry.address });
    }
  }
  return plan;
}
