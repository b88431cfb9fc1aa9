import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRecentList } from '../core/proc-format.js';
import { buildListStatus, CAPACITY_WARNING_PERCENT, type ListStatus } from '../core/status.js';
import { readKernelClock } from '../adapters/kernel-clock.js';
import type { KernelClock } from '../core/jiffies.js';
import type { BanRecord } from '../core/bans.js';
import type { JailConfig } from '../core/domain.js';
import { activityUpdates } from '../core/activity.js';
import { planRestore } from '../core/restore.js';
import { safelistMatch } from '../core/safelist.js';
import type { Ports } from './ports.js';

// A captured clock directory names the wall-clock moment of its capture in captured-at (ms).
async function capturedAt(directory: string): Promise<number | undefined> {
  try {
    const value = Number((await readFile(join(directory, 'captured-at'), 'utf8')).trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

// The live kernel's clock, or one captured in a directory (timer_list, uptime, config.gz, captured-at).
export async function readClock(clockDir: string | undefined): Promise<KernelClock> {
  const capturedMs = clockDir === undefined ? undefined : await capturedAt(clockDir);
  return readKernelClock(
    clockDir === undefined ? {} : { procRoot: clockDir, bootDir: clockDir, ...(capturedMs === undefined ? {} : { nowMs: () => capturedMs }) },
  );
}

// What status reports, gathered once: used by `xtban status` and by the daemon's metrics.
export interface StatusSnapshot {
  clock: KernelClock;
  reports: ListStatus[];
  warnings: string[];
  // The store's open bans as read for counting evictions; undefined when not live or unreadable.
  bans: BanRecord[] | undefined;
}

// Reads every list of the jails (and, with allLists, the lists of no jail), then the clock; with a
// live kernel, counts evictions against the store, and with copyActivity copies kernel activity into it
// (`xtban status` does; the daemon's metrics do not, so a scrape never writes the store).
export async function collectStatus(
  context: Ports,
  jails: readonly JailConfig[],
  options: { allLists: boolean; live: boolean; copyActivity: boolean; clockDir?: string | undefined },
): Promise<StatusSnapshot> {
  const { layouts, lists, parameters, safelist } = context;
  const live = options.live;
  // Lists first, clock second: ages are then never negative.
  const targets: { jail: JailConfig | null; list: string; windowSeconds: number | null; role: 'ban' | 'detect' | 'probe' | null }[] = jails.flatMap((jail) =>
    (layouts.get(jail.name)?.slots ?? []).map((slot) => ({ jail, list: slot.name, windowSeconds: slot.windowSeconds, role: slot.role })),
  );
  if (options.allLists) {
    const owned = new Set([...layouts.values()].flatMap((layout) => layout.slots.map((slot) => slot.name)));
    for (const name of await lists.names()) if (!owned.has(name)) targets.push({ jail: null, list: name, windowSeconds: null, role: null });
  }
  const texts = await Promise.all(targets.map((target) => lists.read(target.list)));
  const clock = options.clockDir === undefined ? await context.clock() : await readClock(options.clockDir);
  const parsed = targets.map((target, index) => {
    const text = texts[index];
    return text === undefined ? undefined : parseRecentList(text, join(lists.directory, target.list));
  });

  // The store's view: live bans missing from their list are evictions; kernel activity is copied back
  // when asked.
  let evicted = new Map<string, number>();
  let storeNote: string | null = null;
  let bans: BanRecord[] | undefined;
  if (live) {
    try {
      const store = context.store();
      bans = store.open();
      const kernel = new Map<string, Map<string, number> | undefined>();
      targets.forEach((target, index) => {
        const entries = parsed[index];
        if (target.jail !== null) kernel.set(target.list, entries && new Map(entries.map((entry) => [entry.address, entry.lastSeen])));
      });
      const plan = planRestore({
        jails,
        layouts,
        bans,
        kernel,
        capacity: parameters.ipListTot,
        safelist,
        nowMs: clock.wallMs,
        wordBits: clock.wordBits,
        clock,
      });
      evicted = plan.missing.reduce((counts, missing) => counts.set(missing.list, (counts.get(missing.list) ?? 0) + 1), new Map<string, number>());
      if (options.copyActivity) {
        // Only a ban list's stamps are a ban's activity (a probe list stamps every new connection).
        const updates = targets.flatMap((target, index) =>
          target.jail === null || target.role !== 'ban' ? [] : activityUpdates(target.jail.name, parsed[index] ?? [], clock),
        );
        store.touch(updates);
      }
    } catch (error) {
      storeNote = `the ban store could not be read (${error instanceof Error ? error.message : String(error)}): evictions are not counted`;
    }
  }
  const reports = targets.map((target, index) => {
    const jail = target.jail;
    const isSafe =
      jail === null ? undefined : (address: string, family: 4 | 6) => safelistMatch(safelist, { family, address, prefix: jail.mask[family] }) !== undefined;
    return buildListStatus(
      {
        jail: jail?.name ?? null,
        list: target.list,
        windowSeconds: target.windowSeconds,
        entries: parsed[index],
        evicted: evicted.get(target.list) ?? 0,
        isSafelisted: isSafe,
        mask: jail?.mask,
      },
      clock,
      parameters.ipListTot,
    );
  });
  const warnings = reports
    .filter((report) => report.exists && report.usePercent >= CAPACITY_WARNING_PERCENT)
    .map(
      (report) =>
        `list ${report.list} is ${report.usePercent}% full (${report.used}/${report.capacity}): when full, the kernel silently evicts the least recently used entry, which may be a live ban`,
    );
  for (const report of reports) {
    if (report.evicted > 0)
      warnings.push(
        `list ${report.list}: ${report.evicted} live ban(s) of the store are missing (not placed because every list of their tier was full, lost in a reload, or evicted by another writer); \`xtban restore\` puts them back where there is room`,
      );
    if (report.safelisted > 0) warnings.push(`list ${report.list}: ${report.safelisted} safelisted address(es) are in the list; \`xtban unban\` them`);
  }
  if (storeNote) warnings.push(storeNote);
  return { clock, reports, warnings, bans };
}
