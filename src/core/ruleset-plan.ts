import type { Family } from './address.js';
import { jumpsTo, type FilterTable } from './iptables-save.js';
import { CHAIN_PREFIX, isJailName } from './names.js';
import type { JailRules } from './ruleset.js';

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
  const inserts: string[] = [];
  for (const jail of desired) {
    const mine = findings.filter((finding) => finding.jail === jail.jail);
    if (mine.some((finding) => finding.kind === 'chain-missing' || finding.kind === 'chain-differs')) {
      declarations.push(`:${jail.chain} - [0:0]`);
      appends.push(...jail.chainRules);
    }
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
    script: assemble(declarations, [...deletes, ...removal.deletes], appends, inserts, removal.tail),
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
    tail.push(`-F ${chain}`, `-X ${chain}`);
    findings.push({ family, jail, kind: 'chain-removed', detail: `removed chain ${chain}` });
  }
  return { family, findings, script: assemble([], deletes, [], [], tail), deletes, tail };
}
