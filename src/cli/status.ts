import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDuration } from '../core/duration.js';
import { ExitCode } from '../core/errors.js';
import { selectJails } from '../core/jail-selection.js';
import { parseRecentList } from '../core/proc-format.js';
import { buildListStatus, capacityAdvice, CAPACITY_WARNING_PERCENT, type ListStatus } from '../core/status.js';
import { readKernelClock } from '../adapters/kernel-clock.js';
import { readModuleParameters } from '../adapters/module-params.js';
import { procLists, PROC_LISTS_DIR } from '../adapters/recent-lists.js';
import { commandContext, type GlobalOptions } from './context.js';
import { renderTable } from './output.js';

interface StatusOptions extends GlobalOptions {
  jail?: string;
  proc?: string;
  clock?: string;
  sys?: string;
}

function localTime(iso: string): string {
  const date = new Date(iso);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

// A captured clock directory names the wall-clock moment of its capture in captured-at (ms).
async function capturedAt(directory: string): Promise<number | undefined> {
  try {
    const value = Number((await readFile(join(directory, 'captured-at'), 'utf8')).trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function renderList(status: ListStatus): string {
  const title = status.jail === null ? `list ${status.list} (no jail)` : `jail ${status.jail}  list ${status.list}  window ${formatDuration(status.windowSeconds ?? 0)}`;
  if (!status.exists) return `${title}\n  missing: the list does not exist; run \`xtban apply\``;
  const summary = `  used ${status.used}/${status.capacity} (${status.usePercent}%, ${status.free} free)  live ${status.live}  stale ${status.stale}`;
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
      entry.state,
    ]),
  ];
  const table = renderTable(rows, { alignRight: [2, 3, 4, 5] }).split('\n').map((line) => `  ${line}`).join('\n');
  return `${title}\n${summary}\n${table}`;
}

// `xtban status`: the kernel's view, read from /proc (or a captured directory).
export async function statusCommand(options: StatusOptions): Promise<number> {
  const { out, config } = await commandContext(options);
  const jails = selectJails(config, options.jail);
  const lists = procLists(options.proc ?? PROC_LISTS_DIR);
  // Lists first, clock second: ages are then never negative.
  const targets: { jail: string | null; list: string; windowSeconds: number | null }[] = jails.flatMap((jail) =>
    jail.lists.map((list) => ({ jail: jail.name, list: list.name, windowSeconds: jail.windowSeconds })),
  );
  if (options.jail === undefined) {
    const owned = new Set(config.jails.flatMap((jail) => jail.lists.map((list) => list.name)));
    for (const name of await lists.names()) if (!owned.has(name)) targets.push({ jail: null, list: name, windowSeconds: null });
  }
  const texts = await Promise.all(targets.map((target) => lists.read(target.list)));
  const clockDir = options.clock;
  const capturedMs = clockDir === undefined ? undefined : await capturedAt(clockDir);
  const clock = await readKernelClock(
    clockDir === undefined ? {} : { procRoot: clockDir, bootDir: clockDir, ...(capturedMs === undefined ? {} : { nowMs: () => capturedMs }) },
  );
  const parameters = await readModuleParameters(options.sys ?? '/sys');
  const reports = targets.map((target, index) => {
    const text = texts[index];
    return buildListStatus({ ...target, entries: text === undefined ? undefined : parseRecentList(text, join(lists.directory, target.list)) }, clock, parameters.ipListTot);
  });
  const warnings = reports
    .filter((report) => report.exists && report.usePercent >= CAPACITY_WARNING_PERCENT)
    .map((report) => `list ${report.list} is ${report.usePercent}% full (${report.used}/${report.capacity}): when full, the kernel silently evicts the least recently used entry, which may be a live ban`);
  out.result({
    clock: { hz: clock.hz, jiffies: clock.jiffies, wallMs: clock.wallMs, at: new Date(clock.wallMs).toISOString(), wordBits: clock.wordBits, method: clock.method },
    capacity: { ipListTot: parameters.ipListTot, source: parameters.source },
    directory: lists.directory,
    lists: reports,
    warnings,
  });
  out.line(`kernel clock: HZ ${clock.hz} (from ${clock.method.hz}), jiffies ${clock.jiffies} (from ${clock.method.jiffies}) at ${localTime(new Date(clock.wallMs).toISOString())}`);
  out.line(`list capacity: ${parameters.ipListTot} entries per list (ip_list_tot, ${parameters.source})`);
  for (const report of reports) out.line(`\n${renderList(report)}`);
  for (const warning of warnings) out.note(`warning: ${warning}\n  ${capacityAdvice(parameters.ipListTot)}`);
  const missing = reports.filter((report) => !report.exists);
  return missing.length > 0 ? ExitCode.partial : ExitCode.ok;
}
