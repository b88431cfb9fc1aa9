import { ExitCode, inputError } from '../core/errors.js';
import type { ReapOptions } from './commands.js';
import { selectJails } from '../core/jail-selection.js';
import { PROC_LISTS_DIR } from '../adapters/recent-lists.js';
import { kernelContext } from './context.js';
import { runReap, type ReapReport } from '../app/reap.js';
import { renderTable, type Output } from './output.js';
import { restoreJson } from './restore.js';

// What a reap did, for --json.
export function reapJson(report: ReapReport): Record<string, unknown> {
  return {
    dryRun: report.dryRun,
    removed: report.removed,
    spared: report.spared,
    reinstated: report.reinstated,
    refreshed: report.refreshed,
    kept: report.kept,
    endedInStore: report.endedInStore,
    restore: report.restore ? restoreJson(report.restore) : null,
    errors: report.errors,
  };
}

// A reap report for people.
function printReap(out: Output, report: ReapReport): void {
  const verb = report.dryRun ? 'would remove' : 'removed';
  out.line(
    `reap: ${verb} ${report.removed.length} entr${report.removed.length === 1 ? 'y' : 'ies'}, kept ${report.kept.live} live and ${report.kept.permanent} permanent`,
  );
  if (report.removed.length > 0) {
    out.line(
      renderTable([['JAIL', 'LIST', 'ADDRESS', 'WHY'], ...report.removed.map((action) => [action.jail, action.list, action.address, action.reason])]).replace(
        /^/gm,
        '  ',
      ),
    );
  }
  for (const action of report.spared) out.line(`  kept ${action.address} in ${action.list}: refreshed while the reaper worked`);
  for (const action of report.reinstated) out.line(`  put back ${action.address} in ${action.list}: banned while the reaper worked`);
  if (report.refreshed.length > 0)
    out.line(
      `  ${report.dryRun ? 'would refresh' : 'refreshed'} ${report.refreshed.length} entr${report.refreshed.length === 1 ? 'y' : 'ies'} the store holds live (or permanent) but the kernel had let go stale`,
    );
  if (report.endedInStore > 0) out.line(`  ended ${report.endedInStore} ban(s) in the store`);
  if (report.restore && report.restore.restored > 0) out.line(`  repaired: put back ${report.restore.restored} live ban(s) missing from the kernel`);
}

// `xtban reap`
export async function reapCommand(options: ReapOptions): Promise<number> {
  if ((options.proc !== undefined || options.clock !== undefined) && options.dryRun !== true) {
    throw inputError('--proc and --clock read captured lists: use them with --dry-run', 'a reap writes to the live kernel only');
  }
  const context = await kernelContext(options, options.proc ?? PROC_LISTS_DIR, options.sys ?? '/sys');
  try {
    const jails = selectJails(context.config, options.jail);
    const report = await runReap(context, jails, {
      dryRun: options.dryRun === true,
      ...(options.clock === undefined ? {} : { clockDir: options.clock }),
    });
    const { out } = context;
    out.result(reapJson(report));
    // The table is built only for people: with --json it would be thrown away (100,000 rows: 17 ms).
    if (!out.json) printReap(out, report);
    for (const error of report.errors) out.note(`error: ${error}`);
    return report.errors.length > 0 ? ExitCode.partial : ExitCode.ok;
  } finally {
    context.closeStore();
  }
}
