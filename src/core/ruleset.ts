import { maskText, type Family } from './address.js';
import type { Hook, JailConfig } from './domain.js';
import type { JailLayout, ListSlot } from './layout.js';

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

function recentMatch(jail: JailConfig, slot: ListSlot, mode: '--rcheck' | '--update' | '--remove'): string {
  const seconds = mode === '--remove' ? '' : ` --seconds ${slot.windowSeconds}`;
  return `-m recent ${mode}${seconds} --name ${slot.name} --mask ${maskText(slot.family, jail.mask[slot.family])} --rsource`;
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

// Renders one jail for one family. For each of its lists (tiers and shards): LOG (optional, rate-limited,
// --rcheck so it never adds a stamp) and the sliding-window --update to the action; after all of them,
// --remove -j RETURN per list for entries whose window passed (a live entry in another list drops first).
export function renderJailRules(jail: JailConfig, family: Family, layout: JailLayout): JailRules {
  const chain = jail.chain;
  const chainRules: string[] = [];
  const slots = layout.slots.filter((slot) => slot.family === family);
  const holding = slots.filter((slot) => slot.role !== 'probe');
  for (const slot of holding) {
    if (jail.log) {
      chainRules.push(`-A ${chain} ${recentMatch(jail, slot, '--rcheck')} -m limit --limit ${jail.log.rate} -j LOG --log-prefix "${jail.log.prefix}"`);
    }
    chainRules.push(`-A ${chain} ${recentMatch(jail, slot, '--update')} ${target(jail, family)}`);
  }
  // In-kernel detection: every new connection stamps the probe list; hitcount of them within the
  // detection window put the address into the detect list (a ban) and drop it, with no process involved.
  const probe = slots.find((slot) => slot.role === 'probe');
  const detect = slots.find((slot) => slot.role === 'detect');
  if (jail.detect && probe && detect) {
    const mask = `--mask ${maskText(family, jail.mask[family])} --rsource`;
    chainRules.push(`-A ${chain} -m conntrack --ctstate NEW -m recent --set --name ${probe.name} ${mask}`);
    chainRules.push(
      `-A ${chain} -m conntrack --ctstate NEW -m recent --rcheck --seconds ${jail.detect.seconds} --hitcount ${jail.detect.hitcount} --name ${probe.name} ${mask} -m recent --set --name ${detect.name} ${mask} ${target(jail, family)}`,
    );
  }
  for (const slot of holding) chainRules.push(`-A ${chain} ${recentMatch(jail, slot, '--remove')} -j RETURN`);
  const jumps = new Map<Hook, string>();
  for (const hook of jail.hooks) jumps.set(hook, `-A ${hook} ${jumpMatch(jail)}-j ${chain}`);
  return { jail: jail.name, family, chain, chainRules, jumps };
}

// Every jail's rules for one family (jails that exclude the family are left out).
export function renderFamily(jails: readonly JailConfig[], family: Family, layouts: ReadonlyMap<string, JailLayout>): JailRules[] {
  return jails
    .filter((jail) => jail.families.includes(family))
    .map((jail) => {
      const layout = layouts.get(jail.name);
      if (!layout) throw new Error(`no list layout for jail ${jail.name}`);
      return renderJailRules(jail, family, layout);
    });
}
