import { familyName, type Family } from '../core/address.js';
import { ExitCode, XtbanError } from '../core/errors.js';
import { parseFilterTable } from '../core/iptables-save.js';
import { findDifferences, planApply, unconfiguredChains, unconfiguredFindings, type RestorePlan } from '../core/ruleset-plan.js';
import { renderFamily } from '../core/ruleset.js';
import type { Firewall } from '../adapters/firewall.js';
import { noAppliedChains, type AppliedChains } from '../adapters/applied-chains.js';
import type { Config } from '../core/domain.js';
import type { JailLayout } from '../core/layout.js';

// Applying the ruleset: each family planned against what the firewall holds, restored in one batch,
// and checked afterwards; one family's failure never stops the other.

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
      const failure =
        error instanceof XtbanError
          ? error
          : new XtbanError(error instanceof Error ? error.message : String(error), { exitCode: ExitCode.system, cause: error });
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
  return new XtbanError(failures.map((failure) => `${familyName(failure.family)}: ${failure.error.message}`).join('; '), {
    exitCode: ExitCode.system,
    cause: first?.error,
    ...(hint === undefined ? {} : { hint }),
  });
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
