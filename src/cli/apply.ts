import type { Family } from '../core/address.js';
import type { ApplyOptions } from './commands.js';
import { ExitCode } from '../core/errors.js';
import { dryRunFirewall, systemFirewall } from '../adapters/firewall.js';
import { appliedChainsFile } from '../adapters/applied-chains.js';
import { resolveStateDir } from '../adapters/state-dir.js';
import { kernelContext } from './context.js';
import { missingSlots } from '../app/missing-lists.js';
import { familyName } from './output.js';
import { reportRestore, restoreJson } from './restore.js';
import { applyRuleset } from '../app/apply.js';
import { modprobeDirectory, SYSTEM_MODPROBE_DIRECTORY, writeModprobeConf } from '../adapters/modprobe-conf.js';
import { loadModule } from '../adapters/kernel-module.js';
import { listSizeAdvice } from '../core/list-size.js';
import { restoreBans } from '../app/restore.js';

// What apply did about each finding, in words.
const REPAIR_WORDS: Partial<Record<string, string>> = {
  'chain-missing': 'created the chain',
  'chain-differs': 'rewrote the chain',
  'jump-missing': 'added the jump',
  'jump-differs': 'replaced the jump',
  'jump-duplicated': 'removed duplicate jumps',
  'jump-unwanted': 'removed the jump',
  'chain-removed': 'removed the chain of a jail no longer configured',
  'dispatch-pruned': 'pruned the dispatch tree',
  'jump-removed': 'removed the jump of a jail no longer configured',
};

// `xtban apply`: the ruleset, then the store's live bans back into the lists (restore).
export async function applyCommand(options: ApplyOptions): Promise<number> {
  let context = await kernelContext(options);
  try {
    const dryRun = options.dryRun === true;
    const loaded = dryRun ? undefined : await loadWithListSize(context);
    // The lists are laid out for the value the module now has.
    if (loaded?.error === undefined && loaded !== undefined) {
      context.closeStore();
      context = await kernelContext(options);
    }
    return await apply(context, dryRun, resolveStateDir(options.stateDir), loaded);
  } finally {
    context.closeStore();
  }
}

// What apply did to load xt_recent with the value its jails need.
interface ModuleLoaded {
  path: string;
  wanted: number;
  error: string | undefined;
}

// A module not loaded yet would take ip_list_tot from modprobe.d when the first recent rule loads it, after
// the jails were laid out for the default: so apply writes the file and loads the module first (modprobe
// reads the file), and lays the jails out for the value it then has. Only with the file in the directory
// modprobe reads, and only a load: a loaded module is never reloaded.
async function loadWithListSize(context: Awaited<ReturnType<typeof kernelContext>>): Promise<ModuleLoaded | undefined> {
  if (context.parameters.loading !== 'absent' || modprobeDirectory() !== SYSTEM_MODPROBE_DIRECTORY) return undefined;
  const advice = listSizeAdvice(context.config.jails, context.parameters.ipListTot, 'absent');
  if (advice.conf === undefined || advice.wanted === undefined) return undefined;
  const written = writeModprobeConf(advice.conf);
  if (typeof written.result !== 'string')
    return { path: written.path, wanted: advice.wanted, error: `could not write ${written.path}: ${written.result.error}` };
  const error = await loadModule('xt_recent');
  return { path: written.path, wanted: advice.wanted, error: error === undefined ? undefined : `modprobe xt_recent failed: ${error}` };
}

async function apply(context: Awaited<ReturnType<typeof kernelContext>>, dryRun: boolean, stateDir: string, loaded: ModuleLoaded | undefined): Promise<number> {
  const { out, config, log, layouts, lists } = context;
  // Before the rules: a module not yet loaded takes the file's value when their first one loads it.
  const advice = listSizeAdvice(config.jails, context.parameters.ipListTot, context.parameters.loading);
  const modprobe = advice.conf === undefined || dryRun ? undefined : writeModprobeConf(advice.conf);
  const real = systemFirewall(config.backend);
  const printed: { family: Family; script: string }[] = [];
  const firewall = dryRun ? dryRunFirewall(real, (family, script) => printed.push({ family, script })) : real;
  const { plans, failures } = await applyRuleset(config, layouts, firewall, {
    dryRun,
    // A dry run reads the record but never opens the store (it needs no root for the state directory).
    applied: appliedChainsFile(stateDir),
    onReadFailure: (family, error) =>
      out.note(
        `note: cannot read the ${familyName(family)} ruleset (${error instanceof Error ? error.message : String(error)}); showing the ruleset for an empty table`,
      ),
  });
  const missingLists = dryRun
    ? []
    : (
        await missingSlots(
          lists,
          [...layouts.values()].flatMap((layout) => layout.slots),
        )
      ).map((slot) => slot.name);
  // The bans of every list that is there go back, even when a family failed or a list is missing.
  const restore = dryRun ? undefined : await restoreBans(context, config.jails);
  for (const failure of failures) log.child({ component: 'apply' }).error({ family: failure.family, error: failure.error.message }, 'ruleset not applied');
  for (const plan of plans) {
    log
      .child({ component: 'apply' })
      .info(
        { family: plan.family, dryRun, changes: plan.findings.map((finding) => finding.kind), script: plan.script },
        plan.script === '' ? 'ruleset already in place' : 'ruleset restored',
      );
  }
  out.result({
    dryRun,
    families: plans.map((plan) => ({
      family: plan.family,
      changed: plan.script !== '',
      changes: plan.findings.map(({ jail, kind, detail }) => ({ jail, kind, detail })),
      script: plan.script,
    })),
    failed: failures.map((failure) => ({
      family: failure.family,
      error: failure.error.message,
      ...(failure.error.hint === undefined ? {} : { hint: failure.error.hint }),
    })),
    missingLists,
    restore: restore ? restoreJson(restore) : null,
    listSize: {
      ipListTot: advice.current,
      wanted: advice.wanted ?? null,
      sharded: advice.sharded,
      loading: advice.loading,
      modprobe: modprobe
        ? {
            path: modprobe.path,
            result: typeof modprobe.result === 'string' ? modprobe.result : 'failed',
            ...(typeof modprobe.result === 'string' ? {} : modprobe.result),
          }
        : null,
      takesEffect: advice.takesEffect ?? null,
      loaded:
        loaded === undefined
          ? null
          : { path: loaded.path, ipListTot: loaded.wanted, ok: loaded.error === undefined, ...(loaded.error === undefined ? {} : { error: loaded.error }) },
    },
  });
  for (const plan of plans) {
    const name = familyName(plan.family);
    if (plan.script === '') {
      out.line(`${name}: every jail already in place, nothing changed`);
      continue;
    }
    if (dryRun) {
      out.line(`# ${name}: would feed this to ${plan.family === 4 ? 'iptables' : 'ip6tables'}-restore --noflush`);
      out.line(plan.script.trimEnd());
      continue;
    }
    for (const finding of plan.findings) out.line(`${name}: ${finding.jail}: ${REPAIR_WORDS[finding.kind] ?? 'repaired'} (${finding.detail})`);
  }
  for (const failure of failures) {
    out.note(`error: ${familyName(failure.family)}: ${failure.error.message}${failure.error.hint ? `\n  hint: ${failure.error.hint}` : ''}`);
  }
  if (loaded !== undefined) {
    out.line(
      loaded.error === undefined
        ? `list size: xt_recent was not loaded: wrote ${loaded.path} (ip_list_tot=${loaded.wanted}) and loaded it; ip_list_tot is ${advice.current}`
        : `list size: xt_recent is not loaded and could not be loaded with ip_list_tot=${loaded.wanted}: ${loaded.error}`,
    );
  }
  if (advice.wanted !== undefined) {
    const jails = advice.sharded.map((jail) => `${jail.jail} (capacity ${jail.capacity}: ${jail.shards} shards)`).join(', ');
    const file =
      modprobe === undefined
        ? `would write ${advice.conf?.trim().split('\n').at(-1)} to /etc/modprobe.d/xtban.conf`
        : typeof modprobe.result === 'string'
          ? `${modprobe.result === 'written' ? 'wrote' : 'kept'} ${modprobe.path} (ip_list_tot=${advice.wanted})`
          : `could not write ${modprobe.path}: ${modprobe.result.error}`;
    out.line(`list size: ip_list_tot is ${advice.current}; one list a jail needs ${advice.wanted} for ${jails}: ${file}; ${advice.takesEffect}`);
  }
  const restored = restore ? reportRestore(context, restore) : ExitCode.ok;
  if (failures.length > 0) {
    const applied = plans.map((plan) => familyName(plan.family));
    out.note(
      `${applied.length > 0 ? `${applied.join(' and ')} applied; ` : ''}${failures.map((failure) => familyName(failure.family)).join(' and ')} not applied`,
    );
    return ExitCode.system;
  }
  if (missingLists.length > 0) {
    out.note(
      `warning: list${missingLists.length > 1 ? 's' : ''} ${missingLists.join(', ')} not found in ${lists.directory} after apply; their bans were not restored`,
    );
    return ExitCode.partial;
  }
  return restored;
}
