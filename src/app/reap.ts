import { setTimeout as sleep } from 'node:timers/promises';
import { activityUpdates } from '../core/activity.js';
import { isLiveInTiers } from '../core/bans.js';
import { tierWindowsOf } from '../core/jail-selection.js';
import { parseRecentList, type RecentEntry } from '../core/proc-format.js';
import { planReap, type ReapAction, type ReapInput } from '../core/reap.js';
import type { JailConfig } from '../core/domain.js';
import { readClock } from './status.js';
import { readJailLists } from './jail-lists.js';
import { restoreBans, type RestoreReport } from './restore.js';
import type { Ports } from './ports.js';

export interface ReapReport {
  dryRun: boolean;
  removed: ReapAction[];
  // Removals dropped at the last moment: the entry was refreshed (a new ban) after the plan.
  spared: ReapAction[];
  // Entries removed and put straight back because a ban was recorded while the reaper worked.
  reinstated: ReapAction[];
  refreshed: ReapAction[];
  kept: { live: number; permanent: number };
  endedInStore: number;
  restore: RestoreReport | null;
  errors: string[];
}

async function readLists(context: Ports, jails: readonly JailConfig[]): Promise<ReapInput[]> {
  return (await readJailLists(context, jails)).flatMap(({ jail, slot, entries }) => (entries === undefined ? [] : [{ jail, slot, entries }]));
}

// One reaper pass: read every list once, plan in the pure core, then write. Every removal is
// re-checked against a fresh read of its list right before it is written, and afterwards against the
// store, so a ban made while the reaper works is never lost. Then every live ban missing from the
// kernel (permanent ones included) is put back.
export async function runReap(
  context: Ports,
  jails: readonly JailConfig[],
  options: { dryRun: boolean; pauseMs?: number; clockDir?: string },
): Promise<ReapReport> {
  const inputs = await readLists(context, jails);
  // A captured clock (--clock DIR) when one is given, else this kernel's.
  const clock = options.clockDir === undefined ? await context.clock() : await readClock(options.clockDir);
  const store = context.store();
  const plan = planReap(inputs, store.open(), context.safelist, clock, clock.wallMs);
  const report: ReapReport = {
    dryRun: options.dryRun,
    removed: [],
    spared: [],
    reinstated: [],
    refreshed: [],
    kept: plan.kept,
    endedInStore: 0,
    restore: null,
    errors: [],
  };
  if (options.dryRun) {
    report.removed = plan.remove;
    report.refreshed = plan.refresh;
    return report;
  }
  if (options.pauseMs) await sleep(options.pauseMs);

  const byList = new Map<string, ReapAction[]>();
  for (const action of plan.remove) byList.set(action.list, [...(byList.get(action.list) ?? []), action]);
  for (const [list, actions] of byList) {
    // The re-check: a fresh read of the list; an entry with a newer stamp than planned stays.
    const now = new Map<string, RecentEntry>(parseRecentList((await context.lists.read(list)) ?? '', list).map((entry) => [entry.address, entry]));
    for (const action of actions) {
      const current = now.get(action.address);
      if (current === undefined) continue;
      if (current.lastSeen !== action.lastSeen) {
        report.spared.push(action);
        continue;
      }
      try {
        context.lists.write(list, `-${action.address}`);
        report.removed.push(action);
      } catch (error) {
        report.errors.push(error instanceof Error ? error.message : String(error));
      }
    }
  }
  // A ban committed to the store before its kernel write may have landed between the re-check and the
  // removal: the store has it by now, so put it back.
  const checkedAt = Date.now();
  for (const action of report.removed.filter((removed) => removed.reason === 'stale')) {
    const ban = store.get(action.jail, action.address);
    const jail = jails.find((candidate) => candidate.name === action.jail);
    if (!ban || !jail) continue;
    if (!isLiveInTiers(ban, jail.tierWindows, checkedAt)) continue;
    try {
      context.lists.write(action.list, `+${action.address}`);
      report.reinstated.push(action);
    } catch (error) {
      report.errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  for (const action of plan.refresh) {
    try {
      context.lists.write(action.list, `+${action.address}`);
      report.refreshed.push(action);
    } catch (error) {
      report.errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  const reinstated = new Set(report.reinstated.map((action) => `${action.jail} ${action.address}`));
  const removedKeys = new Set(report.removed.map((action) => `${action.jail} ${action.address}`));
  report.endedInStore = store.endIfOver(
    plan.end.filter((item) => removedKeys.has(`${item.jail} ${item.address}`) && !reinstated.has(`${item.jail} ${item.address}`)),
    tierWindowsOf(context.config),
    Date.now(),
  );
  // Only a ban list's stamps are a ban's activity: a probe list stamps every new connection, and would
  // keep (or bring back) a ban the address earned long ago.
  store.touch(inputs.filter((input) => input.slot.role === 'ban').flatMap((input) => activityUpdates(input.jail.name, input.entries, clock)));
  report.restore = await restoreBans(context, jails);
  context.log.child({ component: 'reaper' }).info(
    {
      step: 'reap',
      removed: report.removed.length,
      spared: report.spared.length,
      reinstated: report.reinstated.length,
      refreshed: report.refreshed.length,
      restored: report.restore.restored,
      kept: report.kept,
    },
    'reap done',
  );
  return report;
}
