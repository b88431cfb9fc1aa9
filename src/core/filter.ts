import RE2 from 're2';
import { parseAddress, type Address } from './address.js';
import { inputError } from './errors.js';
import { ADDR_SLOT, checkPatternSafety } from './filter-safety.js';

// A filter as written: the programs whose messages it reads and its patterns, each with one <ADDR>.
export interface FilterSpec {
  name: string;
  // Syslog identifiers (sshd, sshd-session); empty: any program.
  programs: readonly string[];
  patterns: readonly string[];
  // Messages that match one of these are never counted, even if a pattern matches.
  ignore: readonly string[];
}

// A filter ready to match: RE2 runs in time linear in the line, so no line can stall the process.
export interface CompiledFilter {
  name: string;
  programs: ReadonlySet<string> | undefined;
  patterns: RE2[];
  ignore: RE2[];
}

// What one message is to a filter.
export type MatchResult = { kind: 'match'; address: Address; pattern: number } | { kind: 'ignored' } | { kind: 'none' };

// What <ADDR> stands for: the characters of an IPv4 or IPv6 address; parseAddress then decides.
const ADDRESS_GROUP = '(?<addr>[0-9A-Fa-f:.]{2,45})';

// The longest message matched; longer ones are cut there (sshd's own lines are far shorter).
export const MAX_MESSAGE_LENGTH = 4096;

function compile(pattern: string, where: string, withSlot: boolean): RE2 {
  const body = withSlot ? pattern.replace(ADDR_SLOT, ADDRESS_GROUP) : pattern;
  try {
    // Anchored to the whole message, always.
    return new RE2(`^(?:${body})$`);
  } catch (error) {
    throw inputError(`${where}: ${JSON.stringify(pattern)} is not a valid pattern: ${error instanceof Error ? error.message : String(error)}`, 'RE2 syntax: no backreferences or lookarounds');
  }
}

// Checks every pattern for safety, then compiles them.
export function compileFilter(spec: FilterSpec, where = `filter ${spec.name}`): CompiledFilter {
  if (spec.patterns.length === 0) throw inputError(`${where}: no patterns`, `give at least one pattern with ${ADDR_SLOT}`);
  const patterns = spec.patterns.map((pattern, index) => {
    checkPatternSafety(pattern, `${where}.patterns[${index}]`);
    return compile(pattern, `${where}.patterns[${index}]`, true);
  });
  const ignore = spec.ignore.map((pattern, index) => compile(pattern, `${where}.ignore[${index}]`, false));
  return { name: spec.name, programs: spec.programs.length === 0 ? undefined : new Set(spec.programs), patterns, ignore };
}

// Matches one message of one program. The address comes from the <ADDR> group only.
export function matchMessage(filter: CompiledFilter, program: string | undefined, message: string): MatchResult {
  if (filter.programs && (program === undefined || !filter.programs.has(program))) return { kind: 'none' };
  const text = message.length > MAX_MESSAGE_LENGTH ? message.slice(0, MAX_MESSAGE_LENGTH) : message;
  for (let index = 0; index < filter.patterns.length; index++) {
    const pattern = filter.patterns[index];
    // test() runs RE2's DFA; only a matching line pays for the capture.
    if (!pattern || !pattern.test(text)) continue;
    if (filter.ignore.some((ignore) => ignore.test(text))) return { kind: 'ignored' };
    const captured = pattern.exec(text)?.groups?.['addr'];
    if (captured === undefined) continue;
    try {
      return { kind: 'match', address: parseAddress(captured), pattern: index };
    } catch {
      continue;
    }
  }
  return { kind: 'none' };
}
