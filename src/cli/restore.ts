import { restoreBans, type RestoreReport } from '../app/restore.js';
import type { RestoreOptions } from './commands.js';
import { ExitCode } from '../core/errors.js';
import { selectJails } from '../core/jail-selection.js';
import { kernelContext, type KernelContext } from './context.js';

// Prints a restore report for people; returns the exit code it deserves.
export function reportRestore(context: KernelContext, report: RestoreReport): number {
  const { out } = context;
  const { plan } = report;
  out.line(`restore: ${report.restored} ban(s) put back, ${plan.alreadyPresent} already in the kernel`);
  for (const skip of plan.skippedSafelisted) out.line(`  skipped ${skip.address} (${skip.jail}): ${skip.reason}`);
  for (const full of plan.noRoom)
    out.note(
      `  no room for ${full.address} (${full.jail}): the lists its packets meet are full of live bans (${full.list}); nothing was evicted; raise capacity (more shards) or ip_list_tot`,
    );
  for (const evict of plan.evicts)
    out.line(
      evict.displaced
        ? `  ${evict.list} was full: the permanent ban ${evict.by} took the place of ${evict.address}, a ban that ends (put back when there is room)`
        : `  ${evict.list} was full: ${evict.address} (not a live ban) made room for ${evict.by}`,
    );
  if (plan.moved.length > 0) out.line(`  moved ${plan.moved.length} ban(s) to their own shard (placement is now keyed to this host)`);
  for (const missing of plan.listMissing.slice(0, 5)) out.note(`  list ${missing.list} missing for ${missing.address} (${missing.jail}): run \`xtban apply\``);
  if (plan.listMissing.length > 5) out.note(`  ... and ${plan.listMissing.length - 5} more bans whose list is missing`);
  for (const unknown of plan.unknownJail.slice(0, 5)) out.note(`  ${unknown.address}: jail ${unknown.jail} is not in the config; left in the store`);
  for (const failure of report.failed) out.note(`  error: ${failure.address} into ${failure.list}: ${failure.error}`);
  const trouble = plan.noRoom.length + plan.listMissing.length + report.failed.length;
  return trouble === 0 ? ExitCode.ok : ExitCode.partial;
}

export function restoreJson(report: RestoreReport): Record<string, unknown> {
  const { plan } = report;
  return {
    restored: report.restored,
    elapsedMs: Math.round(report.elapsedMs * 1000) / 1000,
    alreadyPresent: plan.alreadyPresent,
    putBack: plan.writes.map(({ jail, address, list }) => ({ jail, address, list })),
    skippedSafelisted: plan.skippedSafelisted,
    noRoom: plan.noRoom,
    evicted: plan.evicts,
    moved: plan.moved,
    listMissing: plan.listMissing,
    unknownJail: plan.unknownJail,
    failed: report.failed,
  };
}

// `xtban restore`: feeds every live ban of the store back into the kernel.
export async function restoreCommand(options: RestoreOptions): Promise<number> {
  const context = await kernelContext(options);
  try {
    const jails = selectJails(context.config, options.jail);
    const report = await restoreBans(context, jails);
    context.out.result(restoreJson(report));
    return reportRestore(context, report);
  } finally {
    context.closeStore();
  }
}
