import type { CheckOptions } from './commands.js';
import { checkJails } from '../app/check.js';
import { selectJails } from '../core/jail-selection.js';
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
  const context = await listsContext(options);
  const { out } = context;
  const jails = selectJails(context.config, options.jail);
  const findings = await checkJails(
    context,
    systemFirewall(context.config.backend),
    jails,
    appliedChainsFile(resolveStateDir(options.stateDir)),
    options.jail === undefined,
  );
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
