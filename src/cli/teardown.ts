import { parseFilterTable } from '../core/iptables-save.js';
import type { TeardownOptions } from './commands.js';
import { selectJails } from '../core/jail-selection.js';
import { chainName, validateJailName } from '../core/names.js';
import { planTeardown } from '../core/ruleset-plan.js';
import { systemFirewall } from '../adapters/firewall.js';
import { ExitCode } from '../core/errors.js';
import { commandContext } from './context.js';
import { familyName } from './output.js';

// `xtban teardown`: removes the jails' jumps and chains in both families, nothing else.
export async function teardownCommand(options: TeardownOptions): Promise<number> {
  const { out, config } = await commandContext(options);
  // --jail may also name a jail the config no longer has, whose chain is still in place.
  const configured = options.jail === undefined || config.jails.some((jail) => jail.name === options.jail);
  const jails = configured
    ? selectJails(config, options.jail).map((jail) => ({ name: jail.name, chain: jail.chain }))
    : [{ name: validateJailName(options.jail ?? '', '--jail'), chain: chainName(options.jail ?? '') }];
  const firewall = systemFirewall(config.backend);
  const results = [];
  for (const family of [4, 6] as const) {
    const plan = planTeardown(
      parseFilterTable(await firewall.save(family)),
      jails.map((jail) => ({ jail: jail.name, chain: jail.chain })),
      family,
    );
    if (plan.script !== '' && options.dryRun !== true) await firewall.restore(family, plan.script);
    results.push(plan);
    const name = familyName(family);
    if (plan.script === '') out.line(`${name}: no xtban chain for ${jails.map((jail) => jail.name).join(', ')}, nothing to remove`);
    else if (options.dryRun === true)
      out.line(`# ${name}: would feed this to ${family === 4 ? 'iptables' : 'ip6tables'}-restore --noflush\n${plan.script.trimEnd()}`);
    else for (const finding of plan.findings) out.line(`${name}: ${finding.detail}`);
  }
  out.result({
    dryRun: options.dryRun === true,
    families: results.map((plan) => ({ family: plan.family, changed: plan.script !== '', changes: plan.findings, script: plan.script })),
  });
  return ExitCode.ok;
}
