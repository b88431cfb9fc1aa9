import { createHash } from 'node:crypto';
import { maskText, type Family } from './address.js';
import { dispatchLevels, dispatchMatch } from './dispatch.js';
import type { Hook, JailConfig } from './domain.js';
import { MAX_SHARD_BITS, type JailLayout, type ListSlot } from './layout.js';
import { MAX_CHAIN_LENGTH } from './names.js';

// A jail's rules for one family, rendered exactly as iptables-save prints them so that
// the current ruleset can be compared line by line.
export interface JailRules {
  jail: string;
  family: Family;
  chain: string;
  // Lines of the jail chain, each "-A <chain> ...".
  chainRules: string[];
  // With shards, the chains of the dispatch tree below it (inner branches and one per shard), each
  // with its lines; empty for a jail of one list per tier.
  subChains: { name: string; rules: string[] }[];
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
// With shards, the jail chain holds the spill lists and sends each packet down the dispatch tree to the
// chain of its shard, which holds that shard's lists: a packet meets one --update of its shard and one
// of the spill list per tier, however many shards there are, and no --remove.
export function renderJailRules(jail: JailConfig, family: Family, layout: JailLayout): JailRules {
  const chain = jail.chain;
  const chainRules: string[] = [];
  const subChains: { name: string; rules: string[] }[] = [];
  const slots = layout.slots.filter((slot) => slot.family === family);
  const hold = (into: string, slot: ListSlot): string[] => [
    ...(jail.log ? [`-A ${into} ${recentMatch(jail, slot, '--rcheck')} -m limit --limit ${jail.log.rate} -j LOG --log-prefix "${jail.log.prefix}"`] : []),
    `-A ${into} ${recentMatch(jail, slot, '--update')} ${target(jail, family)}`,
  ];
  const release = (into: string, slot: ListSlot) => `-A ${into} ${recentMatch(jail, slot, '--remove')} -j RETURN`;
  const sharded = layout.shards > 1;
  // The lists the jail chain holds itself: all of them with one shard; else the spill lists.
  const here = slots.filter((slot) => slot.role === 'detect' || (slot.role === 'ban' && (!sharded || slot.spill)));
  for (const slot of here) chainRules.push(...hold(chain, slot));
  if (sharded) {
    const shardSlots = slots.filter((slot) => slot.role === 'ban' && !slot.spill);
    chainRules.push(
      ...dispatchTree(chain, family, jail.mask[family], layout.bits, subChains, (leaf, shard) => {
        const mine = shardSlots.filter((slot) => slot.shard === shard);
        return mine.flatMap((slot) => hold(leaf, slot));
      }),
    );
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
  // With shards, no --remove: the kernel finds a list by walking every list of the namespace in the
  // order they were made (about 27 ns a list a packet, measured by the bench's `lookup`: 2,048 lists
  // before it cut new connections from 27,000 to 4,800 a second), so each recent rule a packet meets
  // costs that walk; an entry whose window passed matches no --update anyway, and the reaper takes it
  // out. The detect list keeps its own.
  for (const slot of here) if (!sharded || slot.role === 'detect') chainRules.push(release(chain, slot));
  const jumps = new Map<Hook, string>();
  for (const hook of jail.hooks) jumps.set(hook, `-A ${hook} ${jumpMatch(jail)}-j ${chain}`);
  return { jail: jail.name, family, chain, chainRules, subChains, jumps };
}

// The rules in `chain` of a dispatch tree over `bits` address bits: at each level one `-s VALUE/MASK`
// jump per branch, to the next level's chain or, at the last, to the shard's own chain, whose rules
// `leafRules` gives. The chains below are added to `subChains`.
function dispatchTree(
  chain: string,
  family: Family,
  prefix: number,
  bits: number,
  subChains: { name: string; rules: string[] }[],
  leafRules: (leaf: string, shard: number) => string[],
): string[] {
  const levels = dispatchLevels(bits);
  const base = subChainBase(chain, levels.length);
  const branches = (from: string, depth: number, above: number): string[] => {
    const level = levels[depth];
    if (!level) return [];
    const rules: string[] = [];
    for (let value = 0; value < 2 ** level.bits; value++) {
      const shardBits = above | (value << level.low);
      const path = (shardBits >> level.low).toString(16).padStart(depth + 1, '0');
      const child = `${base}.${path}`;
      rules.push(`-A ${from} ${dispatchMatch(family, prefix, level.low, level.bits, value << level.low)} -j ${child}`);
      const below = depth + 1 < levels.length ? branches(child, depth + 1, shardBits) : leafRules(child, shardBits);
      subChains.push({ name: child, rules: below });
    }
    return rules;
  };
  return branches(chain, 0, 0);
}

// What the dispatch chains of a jail chain are named from: the chain itself, or, when "<chain>.<one hex
// digit a level>" would not fit iptables' 28 characters, its start and a digest of it.
export function subChainBase(chain: string, levels: number): string {
  if (chain.length + 1 + levels <= MAX_CHAIN_LENGTH) return chain;
  const digest = createHash('sha256').update(chain).digest('hex').slice(0, 6);
  return `${chain.slice(0, MAX_CHAIN_LENGTH - 1 - levels - 1 - digest.length)}~${digest}`;
}

// Whether `name` is a chain of the dispatch tree below `chain` (made by renderJailRules, whatever its
// number of levels then): the base for that many levels, '.', then one to that many hex digits.
export function isSubChainOf(name: string, chain: string): boolean {
  for (let levels = 1; levels * 4 <= MAX_SHARD_BITS; levels++) {
    const base = `${subChainBase(chain, levels)}.`;
    const digits = name.slice(base.length);
    if (name.startsWith(base) && digits.length >= 1 && digits.length <= levels && /^[0-9a-f]+$/.test(digits)) return true;
  }
  return false;
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
