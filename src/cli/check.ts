import { parseFilterTable } from '../core/iptables-save.js';
import type { CheckOptions } from './commands.js';
import { missingSlots } from '../app/missing-lists.js';
import { selectJails } from '../core/jail-selection.js';
import { findDifferences, unconfiguredFindings, type Finding } from '../core/ruleset-plan.js';
import { renderFamily } from '../core/ruleset.js';
import { systemFirewall } from '../adapters/firewall.js';
import { appliedChainsFile } from '../adapters/applied-chains.js';
import { resolveStateDir } from '../adapters/state-dir.js';
import { ExitCode } from '../core/errors.js';
import { listsContext } from './context.js';
import { familyName } from './output.js';

// `xtban check`: exit 0 when every chain, jump and list is in place (fail2ban's actioncheck contract).
// It judges no address, so it reads no safelist (listsContext): a safelist file missing or broken fails
// the commands that need it, never this one.
export async function checkCommand(options: CheckOptions): Promise<number> {
  const { out, config, layouts, lists } = await listsContext(options);
  const applied = appliedChainsFile(resolveStateDir(options.stateDir));
  const jails = selectJails(config, options.jail);
  const firewall = systemFirewall(config.backend);
  const findings: Finding[] = [];
  for (const family of [4, 6] as const) {
    const desired = renderFamily(jails, family, layouts);
    // Without --jail, the chains of jails no longer configured count too: they still drop traffic.
    if (options.jail === undefined) {
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
  out.result({ ok: findings.length === 0, jails: jails.map((jail) => jail.name), problems: findings });
  if (findings.length === 0) {
    out.line(`ok: ${jails.length} jail${jails.length === 1 ? '' : 's'} in place (${jails.map((jail) => jail.name).join(', ')})`);
    return ExitCode.ok;
  }
  for (const finding of findings) {
    const where = familyName(finding.family);
    out.line(`missing: ${finding.jail} (${where}): ${finding.detail}`);
  }
  out.note('run `xtban apply` to repair');
  return ExitCode.partial;
}
