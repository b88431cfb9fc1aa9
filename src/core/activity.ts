import { stampToWallMs, type KernelClock } from './jiffies.js';
import type { RecentEntry } from './proc-format.js';

// The kernel's last-seen times to copy into the store, so that an address that keeps a ban alive stays
// banned across a reload. Only entries a packet refreshed count (the kernel sets ttl from packets,
// never from /proc writes): the stamp of a ban or restore write is not activity, or every restore would
// extend the ban by a window.
export function activityUpdates(jail: string, entries: readonly RecentEntry[], clock: KernelClock): { jail: string; address: string; lastActivity: number }[] {
  return entries
    .filter((entry) => entry.ttl > 0)
    .map((entry) => ({ jail, address: entry.address, lastActivity: Math.floor(stampToWallMs(clock, entry.lastSeen)) }));
}
