import { dirname } from 'node:path';
import { missingSlots } from './missing-lists.js';
import { appliedChainsFile } from '../adapters/applied-chains.js';
import type { Firewall } from '../adapters/firewall.js';
import { applyFailure, applyRuleset, familiesInUse } from './apply.js';
import type { Ports } from './ports.js';
import { restoreBans, type RestoreReport } from './restore.js';
import { parseFilterTable } from '../core/iptables-save.js';
import { findDifferences, unconfiguredFindings, type Finding } from '../core/ruleset-plan.js';
import { renderFamily } from '../core/ruleset.js';

export interface RepairReport {
  findings: Finding[];
  restore: RestoreReport | null;
}

// One check: every list in place (a readdir), and, when `full` or a list is missing, every chain and
// jump too (iptables-save). A flush or a foreign iptables-restore removes the rules that name the lists,
// so the lists vanish and the cheap check sees it; a jump deleted by hand needs the full one. After a
// reload it re-applies the ruleset and puts the live bans back.
export async function checkAndRepair(context: Ports, firewall: Firewall, options: { full: boolean } = { full: true }): Promise<RepairReport> {
  const findings: Finding[] = [];
  const applied = appliedChainsFile(dirname(context.store().location));
  const slots = [...context.layouts.values()].flatMap((layout) => layout.slots.map((slot) => ({ ...slot, jail: layout.jail })));
  for (const slot of await missingSlots(context.lists, slots))
    findings.push({ family: slot.family, jail: slot.jail, kind: 'list-missing', detail: `list ${slot.name} is missing` });
  if (options.full || findings.length > 0) {
    const inUse = familiesInUse(context.config);
    for (const family of [4, 6] as const) {
      const desired = renderFamily(context.config.jails, family, context.layouts);
      let saved: string;
      try {
        saved = await firewall.save(family);
      } catch (error) {
        // A family no jail uses is looked at only for chains of jails no longer configured.
        if (!inUse.includes(family)) continue;
        throw error;
      }
      const current = parseFilterTable(saved);
      findings.unshift(...findDifferences(current, desired), ...unconfiguredFindings(current, desired, applied.get(family), family));
    }
  }
  if (findings.length === 0) return { findings, restore: null };
  const { failures } = await applyRuleset(context.config, context.layouts, firewall, { dryRun: false, applied });
  // The family that applied gets its bans back even when the other failed; the failure is then said.
  const restore = await restoreBans(context, context.config.jails);
  const failed = applyFailure(failures);
  if (failed) throw failed;
  return { findings, restore };
}
