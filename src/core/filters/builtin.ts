import type { ClientText, FilterSpec, PatternRole } from '../filter.js';

// What a built-in filter's modes choose from (fail2ban's sshd modes): 'normal' counts failed
// authentications; 'ddos' adds connections that never reach authentication (no identification string,
// banner garbage, a close before authenticating); 'aggressive' adds both and negotiation failures.
export const FILTER_MODES = ['normal', 'ddos', 'aggressive'] as const;
export type FilterMode = (typeof FILTER_MODES)[number];

// One pattern of a built-in filter: what its line means for the count, and the modes it belongs to
// (all when omitted).
export interface BuiltinRule {
  pattern: string;
  role?: PatternRole;
  modes?: readonly FilterMode[];
  // Where this message holds a client's text, when it differs from the filter's.
  clientText?: ClientText;
}

// A filter that ships with xtban: its patterns, and what an administrator needs to know to use it.
export interface BuiltinFilter {
  name: string;
  // One sentence: what it counts (xtban filters, the README).
  catches: string;
  // The log it reads by default: a file in the daemon's own format, or the journal by identifier.
  reads: { file?: string; journal?: { identifier: string } };
  // Syslog identifiers of the daemon's messages in syslog files and the journal; lines of the daemon's
  // own file carry none and are read by every filter pointed at it.
  programs: readonly string[];
  clientText: ClientText;
  delimiter?: string;
  rules: readonly BuiltinRule[];
  ignore?: readonly string[];
  // What an administrator must know before trusting it: a way the daemon's own logging lets a client
  // write lines of its own. Shown by `xtban filters`, `config check` and the daemon at start.
  caveat?: string;
  // The modes it offers besides 'normal' (sshd's); a filter without modes takes only 'normal'.
  modes?: readonly FilterMode[];
}

// The filter as the matcher takes it, with the rules of one mode.
export function builtinSpec(filter: BuiltinFilter, mode: FilterMode = 'normal'): FilterSpec {
  const rules = filter.rules.filter((rule) => rule.modes === undefined || rule.modes.includes(mode));
  return {
    name: filter.name,
    programs: filter.programs,
    patterns: rules.map((rule) => rule.pattern),
    roles: rules.map((rule) => rule.role ?? 'failure'),
    clientTexts: rules.map((rule) => rule.clientText),
    ignore: filter.ignore ?? [],
    clientText: filter.clientText,
    ...(filter.delimiter === undefined ? {} : { delimiter: filter.delimiter }),
  };
}

// A built-in filter as `xtban filters --json` and `config show --json` give it.
export function describeFilter(filter: BuiltinFilter): Record<string, unknown> {
  return {
    name: filter.name,
    catches: filter.catches,
    reads: filter.reads,
    programs: filter.programs,
    modes: filter.modes ?? ['normal'],
    ...(filter.caveat === undefined ? {} : { caveat: filter.caveat }),
    client_text: filter.clientText,
    ...(filter.delimiter === undefined ? {} : { delimiter: filter.delimiter }),
    rules: filter.rules.map((rule) => ({
      pattern: rule.pattern,
      role: rule.role ?? 'failure',
      modes: rule.modes ?? filter.modes ?? ['normal'],
      ...(rule.clientText === undefined ? {} : { client_text: rule.clientText }),
    })),
    ignore: filter.ignore ?? [],
  };
}
