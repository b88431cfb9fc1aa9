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
  // All patterns in one automaton: one pass over a message says which patterns match (RE2::Set).
  anyPattern: RE2Set;
  // The ignore patterns likewise; undefined when there are none.
  anyIgnore: RE2Set | undefined;
  // Captured texts already read as addresses: attackers repeat themselves, and IPv6 parsing is dear.
  addresses: Map<string, Address>;
}

// The most captured texts remembered per filter; the memory is cleared when full.
const ADDRESS_CACHE_SIZE = 10_000;

type RE2Set = InstanceType<typeof RE2.Set>;

// What one message is to a filter. 'too-long': longer than MAX_MESSAGE_LENGTH, never matched.
export type MatchResult = { kind: 'match'; address: Address; pattern: number } | { kind: 'ignored' } | { kind: 'none' } | { kind: 'too-long' };

// What <ADDR> stands for: the characters of an IPv4 or IPv6 address; parseAddress then decides.
const ADDRESS_GROUP = '(?<addr>[0-9A-Fa-f:.]{2,45})';

// The longest message matched (sshd's own lines are far shorter). A longer one is not matched at all:
// cut short, it could end just after an address a client typed (a user name padded to put
// " from 192.0.2.7 port 22" at the cut), and that address would be taken.
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

// Compiles every pattern (so RE2 has the first word on what is valid) and checks it for safety.
export function compileFilter(spec: FilterSpec, where = `filter ${spec.name}`): CompiledFilter {
  if (spec.patterns.length === 0) throw inputError(`${where}: no patterns`, `give at least one pattern with ${ADDR_SLOT}`);
  const patterns = spec.patterns.map((pattern, index) => {
    const compiled = compile(pattern, `${where}.patterns[${index}]`, true);
    checkPatternSafety(pattern, `${where}.patterns[${index}]`);
    return compiled;
  });
  const ignore = spec.ignore.map((pattern, index) => compile(pattern, `${where}.ignore[${index}]`, false));
  return {
    name: spec.name,
    programs: spec.programs.length === 0 ? undefined : new Set(spec.programs),
    patterns,
    anyPattern: new RE2.Set(patterns, { anchor: 'both' }),
    anyIgnore: ignore.length === 0 ? undefined : new RE2.Set(ignore, { anchor: 'both' }),
    addresses: new Map(),
  };
}

// Matches one message of one program. The address comes from the <ADDR> group only.
export function matchMessage(filter: CompiledFilter, program: string | undefined, message: string): MatchResult {
  if (filter.programs && (program === undefined || !filter.programs.has(program))) return { kind: 'none' };
  if (message.length > MAX_MESSAGE_LENGTH) return { kind: 'too-long' };
  // One DFA pass for all patterns (a call costs about 0.9 µs whatever the pattern, most of it handing the
  // string to RE2); only a matching message pays for the capture, in pattern order.
  const matching = filter.anyPattern.match(message);
  if (matching.length === 0) return { kind: 'none' };
  if (filter.anyIgnore?.test(message)) return { kind: 'ignored' };
  if (matching.length > 1) matching.sort((a, b) => a - b);
  for (const index of matching) {
    const pattern = filter.patterns[index];
    if (!pattern) continue;
    // The pattern spans the whole message (^...$), so replacing its match by the group leaves the group
    // alone: 1.1 µs against 2.0 µs for exec and its groups object. The same text back means no match or
    // a group that is the whole message; exec tells which.
    let captured: string | undefined = pattern.replace(message, '$<addr>');
    if (captured === message) captured = pattern.exec(message)?.groups?.['addr'];
    if (captured === undefined || captured === '') continue;
    let address = filter.addresses.get(captured);
    if (address === undefined) {
      try {
        address = parseAddress(captured);
      } catch {
        continue;
      }
      if (filter.addresses.size >= ADDRESS_CACHE_SIZE) filter.addresses.clear();
      filter.addresses.set(captured, address);
    }
    return { kind: 'match', address, pattern: index };
  }
  return { kind: 'none' };
}
