import type { Family } from '../core/address.js';
import { ExitCode, XtbanError } from '../core/errors.js';
import { parseFilterTable } from '../core/iptables-save.js';
import { findDifferences, planApply, unconfiguredChains, unconfiguredFindings, type RestorePlan } from '../core/ruleset-plan.js';
import { renderFamily } from '../core/ruleset.js';
import { dryRunFirewall, systemFirewall, type Firewall } from '../adapters/firewall.js';
import { appliedChainsFile, noAppliedChains, type AppliedChains } from '../adapters/applied-chains.js';
import { resolveStateDir } from '../adapters/state-dir.js';
import type { Config } from '../config/schema.js';
import type { JailLayout } from '../core/layout.js';
import { kernelContext, type GlobalOptions } from './context.js';
import { missingSlots } from '../app/missing-lists.js';
import { familyName } from './output.js';
import { reportRestore, restoreBans, restoreJson } from './restore.js';

// The families any jail uses, IPv4 first.
export function familiesInUse(config: Config): Family[] {
  return ([4, 6] as const).filter((family) => config.jails.some((jail) => jail.families.includes(family)));
}

// What applying the ruleset did: each family's plan, and each family that failed and why. One family's
// failure (a rule its iptables refuses, a table it cannot read) never stops the other's.
export interface ApplyOutcome {
  plans: RestorePlan[];
  failures: { family: Family; error: XtbanError }[];
}

// Plans and applies every family; verifies afterwards that the table now matches.
export async function applyRuleset(
  config: Config,
  layouts: ReadonlyMap<string, JailLayout>,
  firewall: Firewall,
  options: { dryRun: boolean; onReadFailure?: (family: Family, error: unknown) => void; applied?: AppliedChains },
): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { plans: [], failures: [] };
  for (const family of [4, 6] as const) {
    try {
      const plan = await applyFamily(config, layouts, firewall, family, options);
      if (plan) outcome.plans.push(plan);
    } catch (error) {
      const failure = error instanceof XtbanError ? error : new XtbanError(error instanceof Error ? error.message : String(error), { exitCode: ExitCode.system, cause: error });
      outcome.failures.push({ family, error: failure });
    }
  }
  return outcome;
}

// The failures of an apply as one error (the daemon's repair and scripts that want one).
export function applyFailure(failures: ApplyOutcome['failures']): XtbanError | undefined {
  if (failures.length === 0) return undefined;
  const [first] = failures;
  const hint = failures.map((failure) => failure.error.hint).find((text) => text !== undefined);
  return new XtbanError(failures.map((failure) => `${familyName(failure.family)}: ${failure.error.message}`).join('; '), { exitCode: ExitCode.system, cause: first?.error, ...(hint === undefined ? {} : { hint }) });
}

async function applyFamily(
  config: Config,
  layouts: ReadonlyMap<string, JailLayout>,
  firewall: Firewall,
  family: Family,
  options: { dryRun: boolean; onReadFailure?: (family: Family, error: unknown) => void; applied?: AppliedChains },
): Promise<RestorePlan | undefined> {
  const applied = options.applied ?? noAppliedChains();
  const used = familiesInUse(config).includes(family);
  let saved = '';
  try {
    saved = await firewall.save(family);
  } catch (error) {
    // A family no jail uses is looked at only for chains left by jails no longer configured.
    if (!used) return undefined;
    if (!options.dryRun || !options.onReadFailure) throw error;
    options.onReadFailure(family, error);
  }
  const desired = renderFamily(config.jails, family, layouts);
  const current = parseFilterTable(saved);
  const configured = new Set(desired.map((jail) => jail.chain));
  const remove = unconfiguredChains(current, configured, applied.get(family));
  if (!used && remove.length === 0) return undefined;
  const plan = planApply(current, desired, family, remove);
  if (plan.script === '') {
    if (!options.dryRun) applied.set(family, [...configured]);
    return plan;
  }
  await firewall.restore(family, plan.script);
  if (options.dryRun) return plan;
  const after = parseFilterTable(await firewall.save(family));
  const left = [...findDifferences(after, desired), ...unconfiguredFindings(after, desired, applied.get(family), family)];
  if (left.length > 0) {
    throw new XtbanError(`${familyName(family)} ruleset still differs after apply: ${left.map((finding) => finding.detail).join('; ')}`, {
      exitCode: ExitCode.system,
      hint: 'another program may be changing the firewall at the same time; run `xtban check` to see the state',
    });
  }
  applied.set(family, [...configured]);
  return plan;
}

// What apply did about each finding, in words.
const REPAIR_WORDS: Partial<Record<string, string>> = {
  'chain-missing': 'created the chain',
  'chain-differs': 'rewrote the chain',
  'jump-missing': 'added the jump',
  'jump-differs': 'replaced the jump',
  'jump-duplicated': 'removed duplicate jumps',
  'jump-unwanted': 'removed the jump',
  'chain-removed': 'removed the chain of a jail no longer configured',
  'jump-removed': 'removed the jump of a jail no longer configured',
};

// `xtban apply`: the ruleset, then the store's live bans back into the lists (restore).
export async function applyCommand(options: GlobalOptions & { dryRun?: boolean }): Promise<number> {
  const context = await kernelContext(options);
  try {
    return await apply(context, options.dryRun === true, resolveStateDir(options.stateDir));
  } finally {
    context.closeStore();
  }
}

async function apply(context: Awaited<ReturnType<typeof kernelContext>>, dryRun: boolean, stateDir: string): Promise<number> {
  const { out, config, log, layouts, lists } = context;
  const real = systemFirewall(config.backend);
  const printed: { family: Family; script: string }[] = [];
  const firewall = dryRun ? dryRunFirewall(real, (family, script) => printed.push({ family, script })) : real;
  const { plans, failures } = await applyRuleset(config, layouts, firewall, {
    dryRun,
    // A dry run reads the record but never opens the store (it needs no root for the state directory).
    applied: appliedChainsFile(stateDir),
    onReadFailure: (family, error) =>
      out.note(`note: cannot read the ${familyName(family)} ruleset (${error instanceof Error ? error.message : String(error)}); showing the ruleset for an empty table`),
  });
  const missingLists = dryRun ? [] : (await missingSlots(lists, [...layouts.values()].flatMap((layout) => layout.slots))).map((slot) => slot.name);
  // The bans of every list that is there go back, even when a family failed or a list is missing.
  const restore = dryRun ? undefined : await restoreBans(context, config.jails);
  for (const failure of failures) log.error({ component: 'apply', family: failure.family, error: failure.error.message }, 'ruleset not applied');
  for (const plan of plans) {
    log.info({ component: 'apply', family: plan.family, dryRun, changes: plan.findings.map((finding) => finding.kind), script: plan.script }, plan.script === '' ? 'ruleset already in place' : 'ruleset restored');
  }
  out.result({
    dryRun,
    families: plans.map((plan) => ({
      family: plan.family,
      changed: plan.script !== '',
      changes: plan.findings.map(({ jail, kind, detail }) => ({ jail, kind, detail })),
      script: plan.script,
    })),
    failed: failures.map((failure) => ({ family: failure.family, error: failure.error.message, ...(failure.error.hint === undefined ? {} : { hint: failure.error.hint }) })),
    missingLists,
    restore: restore ? restoreJson(restore) : null,
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
  const restored = restore ? reportRestore(context, restore) : ExitCode.ok;
  if (failures.length > 0) {
    const applied = plans.map((plan) => familyName(plan.family));
    out.note(`${applied.length > 0 ? `${applied.join(' and ')} applied; ` : ''}${failures.map((failure) => familyName(failure.family)).join(' and ')} not applied`);
    return ExitCode.system;
  }
  if (missingLists.length > 0) {
    out.note(`warning: list${missingLists.length > 1 ? 's' : ''} ${missingLists.join(', ')} not found in ${lists.directory} after apply; their bans were not restored`);
    return ExitCode.partial;
  }
  return restored;
}
