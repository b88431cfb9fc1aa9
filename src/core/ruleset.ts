import { fullMask, type Family } from './address.js';
import { listFor, type Hook, type JailConfig } from '../config/schema.js';

// A jail's rules for one family, rendered exactly as iptables-save prints them so that
// the current ruleset can be compared line by line.
export interface JailRules {
  jail: string;
  family: Family;
  chain: string;
  // Lines of the jail chain, each "-A <chain> ...".
  chainRules: string[];
  // The jump from each hook, "-A <hook> ... -j <chain>".
  jumps: Map<Hook, string>;
}

function recentMatch(jail: JailConfig, family: Family, mode: '--rcheck' | '--update' | '--remove'): string {
  const seconds = mode === '--remove' ? '' : ` --seconds ${jail.windowSeconds}`;
  return `-m recent ${mode}${seconds} --name ${listFor(jail, family)} --mask ${fullMask(family)} --rsource`;
}

function target(jail: JailConfig, family: Family): string {
  if (jail.action === 'DROP') return '-j DROP';
  return `-j REJECT --reject-with ${family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}`;
}

// The match part of a jump: protocol and ports, in iptables-save's own spelling.
export function jumpMatch(jail: JailConfig): string {
  if (jail.protocol === 'all') return '';
  const protocol = `-p ${jail.protocol}`;
  if (jail.ports.length === 0) return `${protocol} `;
  if (jail.ports.length === 1) return `${protocol} -m ${jail.protocol} --dport ${jail.ports[0]} `;
  return `${protocol} -m multiport --dports ${jail.ports.join(',')} `;
}

// Renders one jail for one family: LOG (optional, rate-limited, --rcheck so it never adds a stamp),
// the sliding-window --update to the action, then --remove -j RETURN for entries whose window passed.
export function renderJailRules(jail: JailConfig, family: Family): JailRules {
  const chain = jail.chain;
  const chainRules: string[] = [];
  if (jail.log) {
    chainRules.push(
      `-A ${chain} ${recentMatch(jail, family, '--rcheck')} -m limit --limit ${jail.log.rate} -j LOG --log-prefix "${jail.log.prefix}"`,
    );
  }
  chainRules.push(`-A ${chain} ${recentMatch(jail, family, '--update')} ${target(jail, family)}`);
  chainRules.push(`-A ${chain} ${recentMatch(jail, family, '--remove')} -j RETURN`);
  const jumps = new Map<Hook, string>();
  for (const hook of jail.hooks) jumps.set(hook, `-A ${hook} ${jumpMatch(jail)}-j ${chain}`);
  return { jail: jail.name, family, chain, chainRules, jumps };
}

// Every jail's rules for one family (jails that exclude the family are left out).
export function renderFamily(jails: readonly JailConfig[], family: Family): JailRules[] {
  return jails.filter((jail) => jail.families.includes(family)).map((jail) => renderJailRules(jail, family));
}
