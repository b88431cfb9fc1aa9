import { ageSeconds, isWithinWindow, secondsLeft, stampToWallMs, type KernelClock } from './jiffies.js';
import type { RecentEntry } from './proc-format.js';
import { addressBytes } from './address.js';

// One kernel list entry as status reports it.
export interface EntryStatus {
  address: string;
  family: 4 | 6;
  lastSeenJiffies: number;
  lastSeen: string;
  ageSeconds: number;
  // null for a list that belongs to no jail (its window is unknown).
  secondsLeft: number | null;
  hits: number;
  ttl: number;
  // unmatched: the address has bits the jail's mask clears, so the jail's rules never match it (a ban
  // made before the mask changed): it holds nothing back.
  state: 'live' | 'stale' | 'unknown' | 'unmatched';
  // In a jail's list although the safelist covers it (unban it; the reaper removes it).
  safelisted: boolean;
}

// One list: how full it is and what it holds.
export interface ListStatus {
  // null for a list that belongs to no jail.
  jail: string | null;
  list: string;
  windowSeconds: number | null;
  exists: boolean;
  capacity: number;
  used: number;
  free: number;
  usePercent: number;
  live: number;
  stale: number;
  // Live bans of the store that should be in this list and are not.
  evicted: number;
  safelisted: number;
  entries: EntryStatus[];
}

// True when the jail's mask clears bits of the entry's address: its rules never match such an entry.
// A full-length mask (the default) clears nothing, and costs nothing per entry.
function unmatched(entry: RecentEntry, mask: { 4: number; 6: number } | undefined): boolean {
  if (mask === undefined) return false;
  const prefix = mask[entry.family];
  if (prefix === (entry.family === 4 ? 32 : 128)) return false;
  // Any bit set past the prefix: read to bytes (no text built; 100,000 entries of a /64 jail stay cheap).
  const bytes = addressBytes(entry.family, entry.address);
  for (let bit = prefix; bit < bytes.length * 8; bit++) if (((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) return true;
  return false;
}

// The fill level at which status warns that evictions are near.
export const CAPACITY_WARNING_PERCENT = 80;

// Builds one list's report from its parsed entries, the kernel clock and the list capacity.
// Live means the newest stamp still counts for --update --seconds window (the kernel's rule).
export function buildListStatus(
  input: {
    jail: string | null;
    list: string;
    windowSeconds: number | null;
    entries: readonly RecentEntry[] | undefined;
    evicted?: number;
    isSafelisted?: ((address: string, family: 4 | 6) => boolean) | undefined;
    // The jail's mask (prefix length per family); undefined for a list of no jail.
    mask?: { 4: number; 6: number } | undefined;
  },
  clock: KernelClock,
  capacity: number,
): ListStatus {
  const entries = (input.entries ?? []).map((entry): EntryStatus => {
    const window = input.windowSeconds;
    const live = window === null ? undefined : isWithinWindow(clock, entry.lastSeen, window);
    return {
      address: entry.address,
      family: entry.family,
      lastSeenJiffies: entry.lastSeen,
      lastSeen: new Date(Math.round(stampToWallMs(clock, entry.lastSeen))).toISOString(),
      ageSeconds: Math.max(0, ageSeconds(clock, entry.lastSeen)),
      secondsLeft: window === null ? null : secondsLeft(clock, entry.lastSeen, window),
      hits: entry.stamps.length,
      ttl: entry.ttl,
      state: unmatched(entry, input.mask) ? 'unmatched' : live === undefined ? 'unknown' : live ? 'live' : 'stale',
      safelisted: input.isSafelisted?.(entry.address, entry.family) ?? false,
    };
  });
  // Most recent first: what an administrator looks for.
  entries.sort((a, b) => a.ageSeconds - b.ageSeconds || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const used = entries.length;
  return {
    jail: input.jail,
    list: input.list,
    windowSeconds: input.windowSeconds,
    exists: input.entries !== undefined,
    capacity,
    used,
    free: Math.max(0, capacity - used),
    usePercent: capacity > 0 ? Math.round((used / capacity) * 1000) / 10 : 0,
    live: entries.filter((entry) => entry.state === 'live').length,
    stale: entries.filter((entry) => entry.state === 'stale').length,
    evicted: input.evicted ?? 0,
    safelisted: entries.filter((entry) => entry.safelisted).length,
    entries,
  };
}

// What to do about full lists, for the capacity warning: a jail's lists hold what its capacity asks for
// (ip_list_tot when it has none), so the way to more room is a larger capacity, which apply turns into
// shards at once and into the ip_list_tot that gives one list (written to modprobe.d).
export function capacityAdvice(full: readonly { jail: string; capacity: number | undefined }[], ipListTot: number): string {
  const jails = [...new Map(full.map((entry) => [entry.jail, entry])).values()]
    .map((entry) => `[jails.${entry.jail}] (${entry.capacity === undefined ? `no capacity set: ip_list_tot, ${ipListTot}` : `now ${entry.capacity}`})`)
    .join(', ');
  return `make room: raise capacity in ${jails} and run xtban apply; past ip_list_tot it adds shards at once, and writes the ip_list_tot that gives one list to /etc/modprobe.d/xtban.conf`;
}
