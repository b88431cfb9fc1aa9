import { timeAfter, type WordBits } from '../../src/core/jiffies.js';
import type { RecentEntry } from '../../src/core/proc-format.js';

// The latest stamp of an entry, compared as the kernel does (time_after, modulo 2^32 on 32-bit kernels): the
// tests use it to show that last_seen is always the newest stamp, which is why src/ reads last_seen alone.
export function newestStamp(entry: RecentEntry, wordBits: WordBits): number {
  const { stamps } = entry;
  let newest = stamps[0] ?? entry.lastSeen;
  for (let i = 1; i < stamps.length; i++) {
    const stamp = stamps[i] ?? newest;
    if (timeAfter(stamp, newest, wordBits)) newest = stamp;
  }
  return newest;
}
