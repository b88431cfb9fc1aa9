import type { JailConfig } from '../core/domain.js';
import { parseFilterTable } from '../core/iptables-save.js';
import { findDifferences, unconfiguredFindings, type Finding } from '../core/ruleset-plan.js';
import { renderFamily } from '../core/ruleset.js';
import type { Firewall } from '../adapters/firewall.js';
import type { AppliedChains } from '../adapters/applied-chains.js';
import { missingSlots } from './missing-lists.js';
import type { ListPorts } from './ports.js';

// What is wrong with these jails' chains, jumps and lists, as the firewall and the kernel hold them now.
// With `everyJail` (no --jail), the chains of jails no longer configured count too: they still drop
// traffic. It judges no address, so it takes no safelist.
export async function checkJails(
  ports: ListPorts,
  firewall: Firewall,
  jails: readonly JailConfig[],
  applied: AppliedChains,
  everyJail: boolean,
): Promise<Finding[]> {
  const { layouts, lists } = ports;
  const findings: Finding[] = [];
  for (const family of [4, 6] as const) {
    const desired = renderFamily(jails, family, layouts);
    if (everyJail) {
      let saved: string | undefined;
      try {
        saved = await firewall.save(family);
      } catch (error) {
        if (desired.length > 0) throw error;
      }
      if (saved === undefined) continue;
      const current = parseFilterTable(saved);
      findings.push(...findDifferences(current, desired));
      // Against every configured jail of the family (here `jails` is all of them).
      findings.push(...unconfiguredFindings(current, desired, applied.get(family), family));
      continue;
    }
    if (desired.length === 0) continue;
    findings.push(...findDifferences(parseFilterTable(await firewall.save(family)), desired));
  }
  const slots = jails.flatMap((jail) => (layouts.get(jail.name)?.slots ?? []).map((slot) => ({ ...slot, jail: jail.name })));
  for (const slot of await missingSlots(lists, slots)) {
    findings.push({ family: slot.family, jail: slot.jail, kind: 'list-missing', detail: `list ${slot.name} is missing from ${lists.directory}` });
  }
  return findings;
}
