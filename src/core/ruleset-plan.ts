import type { Family } from './address.js';
import { jumpsTo, type FilterTable } from './iptables-save.js';
import { CHAIN_PREFIX, isJailName } from './names.js';
import { isSubChainOf, type JailRules } from './ruleset.js';

const BUILTIN_HOOKS = ['INPUT', 'FORWARD'] as const;

// One thing a plan changes or a check finds, in words a person can act on.
export interface Finding {
  family: Family;
  jail: string;
  kind:
    | 'chain-missing'
    | 'chain-differs'
    | 'jump-missing'
    | 'jump-duplicated'
    | 'jump-differs'
    | 'jump-unwanted'
    | 'list-missing'
    | 'chain-removed'
    | 'dispatch-pruned'
    | 'jump-removed'
    | 'chain-unconfigured';
  detail: string;
}

// What apply or teardown will feed to iptables-restore --noflush for one family.
export interface RestorePlan {
  family: Family;
  findings: Finding[];
  // Empty when nothing needs to change: then iptables-restore is not run at all.
  script: string;
}

function deleteLine(rule: string): string {
  return `-D ${rule.slice(3)}`;
}

function insertLine(rule: string): string {
  const space = rule.indexOf(' ', 3);
  return `-I ${rule.slice(3, space)} 1 ${rule.slice(space + 1)}`;
}

function assemble(declarations: string[], deletes: string[], appends: string[], inserts: string[], tail: string[] = []): string {
  const body = [...declarations, ...deletes, ...appends, ...inserts, ...tail];
  return body.length === 0 ? '' : ['*filter', ...body, 'COMMIT', ''].join('\n');
}

function sameRules(current: readonly string[], desired: readonly string[]): boolean {
  return current.length === desired.length && current.every((rule, index) => rule === desired[index]);
}

// "1 chain", "273 chains".
function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

// A jail's chains: its own, then those of its dispatch tree.
function chainsOf(jail: JailRules): { name: string; rules: readonly string[] }[] {
  return [{ name: jail.chain, rules: jail.chainRules }, ...jail.subChains];
}

// The chains of the table that belong to a jail chain's dispatch tree, wanted or not.
function subChainsIn(current: FilterTable, chain: string): string[] {
  return [...current.chains.keys()].filter((name) => isSubChainOf(name, chain));
}

// Compares the live filter table with the jails' rules: every difference is a finding.
export function findDifferences(current: FilterTable, desired: readonly JailRules[]): Finding[] {
  const findings: Finding[] = [];
  for (const jail of desired) {
    const base = { family: jail.family, jail: jail.jail };
    const chain = current.chains.get(jail.chain);
    if (!chain) {
      findings.push({ ...base, kind: 'chain-missing', detail: `chain ${jail.chain} is missing` });
    } else if (!sameRules(chain.rules, jail.chainRules)) {
      findings.push({ ...base, kind: 'chain-differs', detail: `chain ${jail.chain} does not hold the expected ${jail.chainRules.length} rules` });
    }
    // The dispatch tree's chains, one finding for all of a kind: a jail of 256 shards has 273 of them.
    const missing = jail.subChains.filter((sub) => !current.chains.has(sub.name));
    const differ = jail.subChains.filter((sub) => current.chains.has(sub.name) && !sameRules(current.chains.get(sub.name)?.rules ?? [], sub.rules));
    if (missing.length > 0)
      findings.push({
        ...base,
        kind: 'chain-missing',
        detail: `${countOf(missing.length, 'chain')} of its dispatch tree ${missing.length === 1 ? 'is' : 'are'} missing (${missing[0]?.name}${missing.length > 1 ? ', ...' : ''})`,
      });
    if (differ.length > 0)
      findings.push({
        ...base,
        kind: 'chain-differs',
        detail: `${countOf(differ.length, 'chain')} of its dispatch tree ${differ.length === 1 ? 'does' : 'do'} not hold the expected rules (${differ[0]?.name}${differ.length > 1 ? ', ...' : ''})`,
      });
    for (const hook of BUILTIN_HOOKS) {
      const present = (current.chains.get(hook)?.rules ?? []).filter((rule) => jumpsTo(rule, jail.chain));
      const wanted = jail.jumps.get(hook);
      if (wanted === undefined) {
        if (present.length > 0) findings.push({ ...base, kind: 'jump-unwanted', detail: `${hook} jumps to ${jail.chain} but the jail does not hook ${hook}` });
        continue;
      }
      if (present.length === 0) {
        findings.push({ ...base, kind: 'jump-missing', detail: `jump from ${hook} to ${jail.chain} is missing` });
      } else if (present.some((rule) => rule !== wanted)) {
        findings.push({ ...base, kind: 'jump-differs', detail: `jump from ${hook} to ${jail.chain} does not match the jail's protocol and ports` });
      } else if (present.length > 1) {
        findings.push({ ...base, kind: 'jump-duplicated', detail: `jump from ${hook} to ${jail.chain} appears ${present.length} times` });
      }
    }
  }
  return findings;
}

// The chains xtban applied for jails the config no longer has (recorded when applied, and no longer
// configured): they, and their jumps, still drop traffic until apply removes them. A chain xtban did
// not record is never taken, whatever its name.
export function unconfiguredChains(
  current: FilterTable,
  configuredChains: ReadonlySet<string>,
  appliedChains: ReadonlySet<string>,
): { jail: string; chain: string }[] {
  return [...current.chains.keys()]
    .filter(
      (chain) => appliedChains.has(chain) && chain.startsWith(CHAIN_PREFIX) && !configuredChains.has(chain) && isJailName(chain.slice(CHAIN_PREFIX.length)),
    )
    .map((chain) => ({ jail: chain.slice(CHAIN_PREFIX.length), chain }));
}

// Those chains as findings, for the jails a family's table should hold: what check, the daemon and
// apply's own verification report.
export function unconfiguredFindings(current: FilterTable, desired: readonly JailRules[], appliedChains: ReadonlySet<string>, family: Family): Finding[] {
  return unconfiguredChains(current, new Set(desired.map((jail) => jail.chain)), appliedChains).map(({ jail, chain }) => ({
    family,
    jail,
    kind: 'chain-unconfigured' as const,
    detail: `chain ${chain} belongs to no configured jail and still drops traffic`,
  }));
}

// Plans the smallest restore that makes the table match: untouched when it already does, so a
// second apply changes nothing. Chains are re-declared (which flushes them) only when their
// rules differ; jumps are removed and re-inserted only when missing, different or duplicated. The
// chains of jails no longer configured (`remove`) go, with every jump to them.
export function planApply(
  current: FilterTable,
  desired: readonly JailRules[],
  family: Family,
  remove: readonly { jail: string; chain: string }[] = [],
): RestorePlan {
  const findings = findDifferences(current, desired);
  const declarations: string[] = [];
  const deletes: string[] = [];
  const appends: string[] = [];
  // The rules of the dispatch trees go after every jail's own chain: the kernel makes a recent list when
  // the first rule naming it goes in, and finds a list by walking them in that order, for each packet a
  // recent rule sees. So the lists every packet of a jail meets (one-list jails, spill, detection) come
  // first, and no jail's packets walk another jail's shards.
  const treeAppends: string[] = [];
  const inserts: string[] = [];
  const stale: string[] = [];
  for (const jail of desired) {
    // Each chain that is missing or differs is declared (which flushes it) and filled; the rest stay.
    for (const { name, rules } of chainsOf(jail)) {
      const chain = current.chains.get(name);
      if (chain && sameRules(chain.rules, rules)) continue;
      declarations.push(`:${name} - [0:0]`);
      (name === jail.chain ? appends : treeAppends).push(...rules);
    }
    // Chains of a dispatch tree the jail no longer has (fewer shards): nothing jumps to them once the
    // chains above are filled anew, so they go last.
    const kept = new Set(jail.subChains.map((chain) => chain.name));
    const gone = subChainsIn(current, jail.chain).filter((name) => !kept.has(name));
    stale.push(...gone);
    if (gone.length > 0)
      findings.push({
        family,
        jail: jail.jail,
        kind: 'dispatch-pruned',
        detail: `${countOf(gone.length, 'chain')} it no longer has: fewer shards`,
      });
    for (const hook of BUILTIN_HOOKS) {
      const present = (current.chains.get(hook)?.rules ?? []).filter((rule) => jumpsTo(rule, jail.chain));
      const wanted = jail.jumps.get(hook);
      const fine = wanted !== undefined && present.length === 1 && present[0] === wanted;
      if (fine || (wanted === undefined && present.length === 0)) continue;
      deletes.push(...present.map(deleteLine));
      if (wanted !== undefined) inserts.push(insertLine(wanted));
    }
  }
  const removal = planTeardown(current, remove, family);
  return {
    family,
    findings: [...findings, ...removal.findings],
    script: assemble(declarations, [...deletes, ...removal.deletes], [...appends, ...treeAppends], inserts, [
      ...stale.map((name) => `-F ${name}`),
      ...stale.map((name) => `-X ${name}`),
      ...removal.tail,
    ]),
  };
}

// Plans the removal of the given chains and of every rule, in any chain, that jumps to them.
export function planTeardown(
  current: FilterTable,
  chains: readonly { jail: string; chain: string }[],
  family: Family,
): RestorePlan & { deletes: string[]; tail: string[] } {
  const findings: Finding[] = [];
  const deletes: string[] = [];
  const tail: string[] = [];
  for (const { jail, chain } of chains) {
    if (!current.chains.has(chain)) continue;
    for (const [name, { rules }] of current.chains) {
      for (const rule of rules) {
        if (!jumpsTo(rule, chain)) continue;
        deletes.push(deleteLine(rule));
        findings.push({ family, jail, kind: 'jump-removed', detail: `removed jump from ${name} to ${chain}` });
      }
    }
    tail.push(`-F ${chain}`);
    const below = subChainsIn(current, chain);
    for (const name of below) tail.push(`-F ${name}`);
    tail.push(`-X ${chain}`, ...below.map((name) => `-X ${name}`));
    findings.push({
      family,
      jail,
      kind: 'chain-removed',
      detail: below.length === 0 ? `removed chain ${chain}` : `removed chain ${chain} and the ${below.length} chains of its dispatch tree`,
    });
  }
  return { family, findings, script: assemble([], deletes, [], [], tail), deletes, tail };
}
