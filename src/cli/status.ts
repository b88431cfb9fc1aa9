import { formatDuration } from '../core/duration.js';
import { ExitCode } from '../core/errors.js';
import { selectJails } from '../core/jail-selection.js';
import { capacityAdvice, CAPACITY_WARNING_PERCENT, type ListStatus } from '../core/status.js';
import { listSizeAdvice } from '../core/list-size.js';
import { PROC_LISTS_DIR } from '../adapters/recent-lists.js';
import { kernelContext, type KernelContext } from './context.js';
import { collectStatus } from '../app/status.js';
import { renderTable } from './output.js';

import type { StatusOptions } from './commands.js';

function localTime(iso: string): string {
  const date = new Date(iso);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function renderList(status: ListStatus): string {
  const title =
    status.jail === null ? `list ${status.list} (no jail)` : `jail ${status.jail}  list ${status.list}  window ${formatDuration(status.windowSeconds ?? 0)}`;
  if (!status.exists) return `${title}\n  missing: the list does not exist; run \`xtban apply\``;
  const extra = `${status.evicted > 0 ? `  evicted ${status.evicted}` : ''}${status.safelisted > 0 ? `  safelisted ${status.safelisted}` : ''}`;
  const summary = `  used ${status.used}/${status.capacity} (${status.usePercent}%, ${status.free} free)  live ${status.live}  stale ${status.stale}${extra}`;
  if (status.entries.length === 0) return `${title}\n${summary}\n  (empty)`;
  const rows = [
    ['ADDRESS', 'LAST SEEN', 'AGE', 'LEFT', 'HITS', 'TTL', 'STATE'],
    ...status.entries.map((entry) => [
      entry.address,
      localTime(entry.lastSeen),
      formatDuration(entry.ageSeconds, 'floor'),
      entry.secondsLeft === null ? '-' : formatDuration(entry.secondsLeft, 'ceil'),
      String(entry.hits),
      String(entry.ttl),
      entry.safelisted ? `${entry.state}, safelisted` : entry.state,
    ]),
  ];
  const table = renderTable(rows, { alignRight: [2, 3, 4, 5] })
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return `${title}\n${summary}\n${table}`;
}

// `xtban status`: the kernel's view, read from /proc (or a captured directory), checked against the store.
export async function statusCommand(options: StatusOptions): Promise<number> {
  const live = options.proc === undefined;
  const context = await kernelContext(options, options.proc ?? PROC_LISTS_DIR, options.sys ?? '/sys');
  try {
    return await status(context, options, live);
  } finally {
    context.closeStore();
  }
}

async function status(context: KernelContext, options: StatusOptions, live: boolean): Promise<number> {
  const { out, config, lists, parameters } = context;
  const jails = selectJails(config, options.jail);
  const { clock, reports, warnings } = await collectStatus(context, jails, {
    allLists: options.jail === undefined,
    live,
    copyActivity: true,
    clockDir: options.clock,
  });
  const size = listSizeAdvice(config.jails, parameters.ipListTot, parameters.loading);
  out.result({
    clock: {
      hz: clock.hz,
      jiffies: clock.jiffies,
      wallMs: clock.wallMs,
      at: new Date(clock.wallMs).toISOString(),
      wordBits: clock.wordBits,
      method: clock.method,
    },
    capacity: {
      ipListTot: parameters.ipListTot,
      source: parameters.source,
      loading: parameters.loading,
      // What the current value allows and what would be better: one list a jail at `wanted`.
      sharded: size.sharded,
      wanted: size.wanted ?? null,
      takesEffect: size.takesEffect ?? null,
    },
    directory: lists.directory,
    lists: reports,
    warnings,
  });
  // The tables are built only for people: with --json they would be thrown away.
  if (!out.json) {
    out.line(
      `kernel clock: HZ ${clock.hz} (from ${clock.method.hz}), jiffies ${clock.jiffies} (from ${clock.method.jiffies}) at ${localTime(new Date(clock.wallMs).toISOString())}`,
    );
    out.line(
      `list capacity: ${parameters.ipListTot} entries per list (ip_list_tot, ${parameters.source}; xt_recent ${parameters.loading === 'builtin' ? 'built in' : parameters.loading === 'module' ? 'a loaded module' : 'not loaded'})`,
    );
    for (const jail of size.sharded) out.line(`  jail ${jail.jail}: capacity ${jail.capacity} over ${jail.shards} shards (a dispatch tree)`);
    if (size.wanted !== undefined) out.line(`  ip_list_tot=${size.wanted} would give every jail one list: ${size.takesEffect}`);
    for (const report of reports) out.line(`\n${renderList(report)}`);
  }
  for (const warning of warnings) out.note(`warning: ${warning}`);
  const full = reports.filter((report) => report.exists && report.usePercent >= CAPACITY_WARNING_PERCENT);
  const capacityOf = new Map(config.jails.map((jail) => [jail.name, jail.capacity]));
  const fullJails = full.flatMap((report) => (report.jail === null ? [] : [{ jail: report.jail, capacity: capacityOf.get(report.jail) }]));
  if (fullJails.length > 0) out.note(`  ${capacityAdvice(fullJails, parameters.ipListTot)}`);
  const missing = reports.filter((report) => !report.exists);
  return missing.length > 0 ? ExitCode.partial : ExitCode.ok;
}
