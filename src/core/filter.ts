import RE2 from 're2';
import { parseAddress, type Address } from './address.js';
import { inputError } from './errors.js';
import { ADDR_SLOT, checkPatternSafety } from './filter-safety.js';
import { atomMatches, atomProbes } from './regex-atoms.js';
import { requiredLiteral } from './regex-literal.js';
import { parseRegex, type RegexNode } from './regex-syntax.js';

// What a matching line is to the count of one connection's failed attempts (lines of one process, by
// pid): 'failure' is an attempt, unless the line before announced it; 'announce' is an attempt that a
// 'failure' line of the same process may confirm (PAM's, then sshd's "Failed password"), counted once;
// 'close' ends the connection and counts only if none of its lines was counted.
export type PatternRole = 'failure' | 'announce' | 'close';

// Where a program writes text a client chose, relative to the address: what the safety rule may assume.
export type ClientText = 'anywhere' | 'before-address' | 'after-address';

// A filter as written: the programs whose messages it reads and its patterns, each with one <ADDR>.
export interface FilterSpec {
  name: string;
  // Syslog identifiers (sshd, sshd-session); empty: any program.
  programs: readonly string[];
  patterns: readonly string[];
  // Each pattern's role, in the same order; 'failure' for all when omitted.
  roles?: readonly PatternRole[];
  // Messages that match one of these are never counted, even if a pattern matches.
  ignore: readonly string[];
  // Where the program writes text a client chose; 'anywhere' (the default) holds the text before
  // <ADDR> to the same rule as the text after it when that can carry an address.
  clientText?: ClientText;
  // Per pattern, where it differs from clientText (a message of the same program that writes client
  // text after the address).
  clientTexts?: readonly (ClientText | undefined)[];
  // A character a client's text before the address can never hold (the program splits or escapes it):
  // the address is then pinned by the count of that character before it.
  delimiter?: string;
}

// A filter ready to match: RE2 runs in time linear in the line, so no line can stall the process.
export interface CompiledFilter {
  name: string;
  programs: ReadonlySet<string> | undefined;
  // Each pattern's role, by index.
  roles: readonly PatternRole[];
  patterns: RE2[];
  // The same patterns with every quantifier's preference swapped ((?U)): a message both read alike.
  lazyPatterns: RE2[];
  // Per pattern whose address can start at one place only, where that is (after fixed text, or after
  // the Nth delimiter and fixed text): the address runs from there to the first character that cannot
  // be in one. No RE2 call at all, against about 3 µs for the whole pattern's capture.
  heads: (HeadEnd | undefined)[];
  // Per pattern whose address is a whole run of address characters (what stands before and after
  // <ADDR> is a character no address holds, or the message's start or end), the text before <ADDR>
  // and the text after it, each anchored to its whole side: a message with one address-like run reads
  // at it when both sides match there, two DFA passes (about 0.4 µs) against a capture (about 3 µs).
  sides: ({ before: RE2; after: RE2 } | undefined)[];
  // All patterns in one automaton: one pass over a message says which patterns match (RE2::Set).
  anyPattern: RE2Set;
  // Texts one of which every matching message holds (a literal each pattern requires); undefined when
  // some pattern requires none. A message with none of them is passed over before RE2 sees it.
  needles: readonly string[] | undefined;
  // The ignore patterns likewise; undefined when there are none.
  anyIgnore: RE2Set | undefined;
  // Captured texts already read as addresses: attackers repeat themselves, and IPv6 parsing is dear.
  addresses: Map<string, Address>;
}

// The most captured texts remembered per filter; the memory is cleared when full.
const ADDRESS_CACHE_SIZE = 10_000;

type RE2Set = InstanceType<typeof RE2.Set>;

// What one message is to a filter. 'too-long': longer than MAX_MESSAGE_LENGTH, never matched.
// 'ambiguous': the message can be read with two different texts for <ADDR>; neither is taken.
export type MatchResult =
  | { kind: 'match'; address: Address; pattern: number }
  | { kind: 'ignored' }
  | { kind: 'none' }
  | { kind: 'too-long' }
  | { kind: 'ambiguous'; captured: [string, string] };

// What <ADDR> stands for: the characters of an IPv4 or IPv6 address; parseAddress then decides.
const ADDRESS_GROUP = '(?<addr>[0-9A-Fa-f:.]{2,45})';

// The longest message matched (sshd's own lines are far shorter). A longer one is not matched at all:
// cut short, it could end just after an address a client typed (a user name padded to put
// " from 192.0.2.7 port 22" at the cut), and that address would be taken.
export const MAX_MESSAGE_LENGTH = 4096;

function compile(pattern: string, where: string, withSlot: boolean, lazy = false): RE2 {
  const body = withSlot ? pattern.replace(ADDR_SLOT, ADDRESS_GROUP) : pattern;
  try {
    // Anchored to the whole message, always. (?U) swaps what every quantifier prefers: the same
    // messages match, the other reading of an ambiguous one comes out.
    return new RE2(`${lazy ? '(?U)' : ''}^(?:${body})$`);
  } catch (error) {
    throw inputError(
      `${where}: ${JSON.stringify(pattern)} is not a valid pattern: ${error instanceof Error ? error.message : String(error)}`,
      'RE2 syntax: no backreferences or lookarounds',
    );
  }
}

// Compiles every pattern (so RE2 has the first word on what is valid) and checks it for safety.
// `exact`: every capture by the whole pattern, no head or sides reading (tests compare the two).
export function compileFilter(spec: FilterSpec, where = `filter ${spec.name}`, options: { exact?: boolean } = {}): CompiledFilter {
  if (spec.patterns.length === 0) throw inputError(`${where}: no patterns`, `give at least one pattern with ${ADDR_SLOT}`);
  const patterns = spec.patterns.map((pattern, index) => {
    const compiled = compile(pattern, `${where}.patterns[${index}]`, true);
    const clientText = spec.clientTexts?.[index] ?? spec.clientText ?? 'anywhere';
    checkPatternSafety(pattern, `${where}.patterns[${index}]`, { clientText, ...(spec.delimiter === undefined ? {} : { delimiter: spec.delimiter }) });
    return compiled;
  });
  const lazyPatterns = spec.patterns.map((pattern, index) => compile(pattern, `${where}.patterns[${index}]`, true, true));
  const heads = spec.patterns.map((pattern) => (options.exact ? undefined : headCapture(pattern, spec.delimiter)));
  const sides = spec.patterns.map((pattern, index) => (options.exact || heads[index] ? undefined : sidesOf(pattern)));
  const ignore = spec.ignore.map((pattern, index) => compile(pattern, `${where}.ignore[${index}]`, false));
  return {
    name: spec.name,
    programs: spec.programs.length === 0 ? undefined : new Set(spec.programs),
    roles: spec.patterns.map((_, index) => spec.roles?.[index] ?? 'failure'),
    patterns,
    lazyPatterns,
    heads,
    sides,
    anyPattern: new RE2.Set(patterns, { anchor: 'both' }),
    needles: needlesOf(spec.patterns),
    anyIgnore: ignore.length === 0 ? undefined : new RE2.Set(ignore, { anchor: 'both' }),
    addresses: new Map(),
  };
}

// The literal each pattern requires, without repeats; undefined if one requires none (or a short one:
// looking for two characters saves nothing).
function needlesOf(patterns: readonly string[]): readonly string[] | undefined {
  const needles = new Set<string>();
  for (const pattern of patterns) {
    const literal = requiredLiteral(pattern, ADDR_SLOT);
    if (literal.length < 4) return undefined;
    needles.add(literal);
  }
  // A needle that holds another is found whenever the other is: keep the shorter.
  const all = [...needles];
  return all.filter((needle) => !all.some((other) => other !== needle && needle.includes(other)));
}

// Where a pattern's head (its text before <ADDR>) ends in a message the whole pattern matches, when
// that is one place: after fixed text at the start ('fixed'), or after the message's countth
// delimiter and the fixed text that follows it ('delimited').
export type HeadEnd = { kind: 'fixed'; text: string } | { kind: 'delimited'; delimiter: string; count: number; text: string };

// What <ADDR> took in a message the whole pattern matches, read from where its head ends: the run of
// address characters there.
function captureAfter(head: HeadEnd, message: string): string | undefined {
  let start = 0;
  if (head.kind === 'delimited') {
    start = -1;
    for (let n = 0; n < head.count; n++) {
      start = message.indexOf(head.delimiter, start + 1);
      if (start === -1) return undefined;
    }
    start += 1;
  }
  if (!message.startsWith(head.text, start)) return undefined;
  start += head.text.length;
  let end = start;
  while (end < message.length && end - start < 46 && isAddressChar(message.charCodeAt(end))) end++;
  return end - start >= 2 ? message.slice(start, end) : undefined;
}

function isAddressChar(c: number): boolean {
  return c === 46 || c === 58 || (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

// Where the head of a pattern (the text before <ADDR>) ends, when that gives the capture exactly: the
// head can end at one place only (it is fixed text, or it holds the filter's delimiter a fixed number
// of times, only as literals, and what follows the last is fixed), and what follows <ADDR> starts
// with a character no address holds (or nothing follows), so <ADDR> is the whole run of address
// characters there. Otherwise undefined, and the whole pattern captures.
function headCapture(pattern: string, delimiter: string | undefined): HeadEnd | undefined {
  const tree = parseRegex(pattern, ADDR_SLOT);
  const items = tree.kind === 'concat' ? tree.items : [tree];
  const at = items.findIndex((node) => node.kind === 'slot');
  const slot = items[at];
  if (at === -1 || !slot) return undefined;
  const next = items[at + 1];
  if (next !== undefined) {
    if (next.kind !== 'char') return undefined;
    const m = atomMatches(next.atom, next.flags);
    if (m.hex || m.colon || m.dot) return undefined;
  }
  const head = items.slice(0, at);
  // The one character a literal matches; undefined for anything else.
  const literal = (node: RegexNode): string | undefined => {
    if (node.kind !== 'char') return undefined;
    const probes = atomProbes(node.atom, node.flags);
    return probes.size === 1 ? String.fromCodePoint(...probes) : undefined;
  };
  const fixed = (nodes: readonly RegexNode[]): string | undefined => {
    const chars = nodes.map(literal);
    return chars.every((char) => char !== undefined) ? chars.join('') : undefined;
  };
  if (delimiter === undefined) {
    const text = fixed(head);
    return text === undefined ? undefined : { kind: 'fixed', text };
  }
  // The delimiter rule (filter-safety.ts) was checked: the head holds the delimiter the same number of
  // times on every way through it, each a literal, nothing else in it matches the delimiter, and the
  // last one at the top level is followed by fixed text only.
  const code = delimiter.codePointAt(0);
  const last = head.map((node) => literal(node)?.codePointAt(0) === code).lastIndexOf(true);
  const text = fixed(head.slice(last + 1));
  if (last === -1 || text === undefined) return undefined;
  const count = (node: RegexNode): number => {
    switch (node.kind) {
      case 'char':
        return literal(node)?.codePointAt(0) === code ? 1 : 0;
      case 'concat':
        return node.items.reduce((sum, item) => sum + count(item), 0);
      case 'group':
        return count(node.body);
      case 'alternate':
        return node.branches[0] ? count(node.branches[0]) : 0;
      case 'repeat':
        return node.min * count(node.body);
      default:
        return 0;
    }
  };
  return { kind: 'delimited', delimiter, count: head.reduce((sum, node) => sum + count(node), 0), text };
}

// The two sides of a pattern's <ADDR>, when every reading of a message takes a whole run of address
// characters for it: <ADDR> stands at the pattern's top level, whatever can stand next to it on
// either side is a character that no address holds or the message's edge, and no (?flags) before it
// reaches past it.
function sidesOf(pattern: string): { before: RE2; after: RE2 } | undefined {
  const tree = parseRegex(pattern, ADDR_SLOT);
  const items = tree.kind === 'concat' ? tree.items : [tree];
  const at = items.findIndex((node) => node.kind === 'slot');
  const slot = items[at];
  if (at === -1 || !slot) return undefined;
  if (edge(items.slice(0, at), true).address || edge(items.slice(at + 1), false).address) return undefined;
  if (items.slice(0, at).some((node) => node.kind === 'assert' && pattern.startsWith('(?', node.start))) return undefined;
  return { before: new RE2(`^(?:${pattern.slice(0, slot.start)})$`), after: new RE2(`^(?:${pattern.slice(slot.end)})$`) };
}

// Of a sequence of nodes, whether its first character (its last, fromEnd) can be one an address holds,
// and whether it can match nothing at all.
function edge(nodes: readonly RegexNode[], fromEnd: boolean): { address: boolean; empty: boolean } {
  const ordered = fromEnd ? [...nodes].reverse() : nodes;
  for (const node of ordered) {
    const one = edgeOf(node, fromEnd);
    if (one.address) return one;
    if (!one.empty) return { address: false, empty: false };
  }
  return { address: false, empty: true };
}

function edgeOf(node: RegexNode, fromEnd: boolean): { address: boolean; empty: boolean } {
  switch (node.kind) {
    case 'char': {
      const m = atomMatches(node.atom, node.flags);
      return { address: m.hex || m.colon || m.dot, empty: false };
    }
    case 'assert':
      return { address: false, empty: true };
    case 'slot':
      return { address: true, empty: false };
    case 'concat':
      return edge(node.items, fromEnd);
    case 'group':
      return edgeOf(node.body, fromEnd);
    case 'alternate': {
      const branches = node.branches.map((branch) => edgeOf(branch, fromEnd));
      return { address: branches.some((b) => b.address), empty: branches.some((b) => b.empty) };
    }
    case 'repeat': {
      if (node.max === 0) return { address: false, empty: true };
      const body = edgeOf(node.body, fromEnd);
      return { address: body.address, empty: node.min === 0 || body.empty };
    }
  }
}

// The text the <ADDR> group took in a message the pattern matches, or undefined.
function capture(pattern: RE2, message: string): string | undefined {
  // The pattern spans the whole message (^...$), so replacing its match by the group leaves the group
  // alone: 1.1 µs against 2.0 µs for exec and its groups object. The same text back means no match or
  // a group that is the whole message; exec tells which.
  const replaced = pattern.replace(message, '$<addr>');
  const captured = replaced === message ? pattern.exec(message)?.groups?.['addr'] : replaced;
  return captured === '' ? undefined : captured;
}

// Matches one message of one program (undefined: a line of the daemon's own log file, which names no
// program: the file is the daemon's). The address comes from the <ADDR> group only, and only when the
// message can be read one way: each matching pattern, read with its quantifiers greedy and again lazy,
// must take the same text for <ADDR>, and the patterns whose capture is an address the same address. A message that can be read two ways holds an address a
// client typed as well as the one the program wrote (a user name after the address, for example
// "x rhost=192.0.2.7" where the program writes "rhost=ADDR user=NAME"), and neither is banned.
export function matchMessage(filter: CompiledFilter, program: string | undefined, message: string): MatchResult {
  if (filter.programs && program !== undefined && !filter.programs.has(program)) return { kind: 'none' };
  if (message.length > MAX_MESSAGE_LENGTH) return { kind: 'too-long' };
  if (filter.needles && !filter.needles.some((needle) => message.includes(needle))) return { kind: 'none' };
  // One DFA pass for all patterns (a call costs about 0.9 µs whatever the pattern, most of it handing the
  // string to RE2); only a matching message pays for the captures.
  // Handed to RE2 as UTF-8 bytes: a string is converted on every call, and converting it here first
  // makes the Set's pass a third of the cost (0.9 µs against 3.2 µs for an access-log line).
  const bytes = Buffer.from(message);
  const matching = filter.anyPattern.match(bytes);
  if (matching.length === 0) return { kind: 'none' };
  if (filter.anyIgnore?.test(message)) return { kind: 'ignored' };
  if (matching.length > 1) matching.sort((a, b) => a - b);
  let taken: { address: Address; pattern: number } | undefined;
  // A second reading needs a second text <ADDR> could take; most messages hold one (sshd's: the peer).
  const runs = addressRuns(bytes);
  for (const index of matching) {
    const greedy = filter.patterns[index];
    const lazy = filter.lazyPatterns[index];
    if (!greedy || !lazy) continue;
    const head = filter.heads[index];
    const sides = filter.sides[index];
    let text: string | undefined;
    let other: string | undefined;
    if (head) {
      // A pattern whose address starts at one place and ends at the first character no address holds
      // has one reading: the second is not asked.
      text = captureAfter(head, message);
      other = text;
    } else if (sides && runs.count === 1 && readsAt(sides, bytes, runs.start, runs.end)) {
      // The one address-like run, and the pattern reads the message with <ADDR> there: any other
      // reading would take a text that is no address.
      text = bytes.toString('latin1', runs.start, runs.end);
      other = text;
    } else {
      text = capture(greedy, message);
      other = runs.count > 1 ? capture(lazy, message) : text;
    }
    // One pattern, two readings: whatever they took, one may be a client's.
    if (text !== other) return { kind: 'ambiguous', captured: [text ?? '', other ?? ''] };
    if (text === undefined) continue;
    const address = addressOf(filter, text);
    // A capture that is no address leaves the message to the next pattern, in written order.
    if (address === undefined) continue;
    if (taken === undefined) taken = { address, pattern: index };
    else if (taken.address.text !== address.text) return { kind: 'ambiguous', captured: [taken.address.text, address.text] };
  }
  return taken === undefined ? { kind: 'none' } : { kind: 'match', ...taken };
}

// Whether a pattern's sides match the message's bytes before and after a run (2 to 45 long, as <ADDR>).
function readsAt(sides: { before: RE2; after: RE2 }, bytes: Buffer, start: number, end: number): boolean {
  return end - start >= 2 && end - start <= 45 && sides.before.test(bytes.subarray(0, start)) && sides.after.test(bytes.subarray(end));
}

// The runs of the characters <ADDR> takes (hex digits, '.' and ':') with at least two '.' or ':' in a
// message's UTF-8 bytes, counted up to two, and where the first one is: every address has two (an IPv4
// address three dots, an IPv6 address two colons at least), so the addresses <ADDR> could take are
// among them ("HTTP/1.1" is none). No byte of a multi-byte character is one of these.
function addressRuns(bytes: Buffer): { count: number; start: number; end: number } {
  let count = 0;
  let first = -1;
  let firstEnd = -1;
  let punct = 0;
  let runStart = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const c = i < bytes.length ? (bytes[i] as number) : 32;
    const dot = c === 46 || c === 58;
    if (dot || (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)) {
      if (dot) punct++;
      continue;
    }
    if (punct >= 2) {
      if (++count > 1) break;
      first = runStart;
      firstEnd = i;
    }
    punct = 0;
    runStart = i + 1;
  }
  return { count, start: first, end: firstEnd };
}

// A captured text read as an address, remembered: attackers repeat themselves, and IPv6 parsing is dear.
function addressOf(filter: CompiledFilter, text: string): Address | undefined {
  let address = filter.addresses.get(text);
  if (address === undefined) {
    try {
      address = parseAddress(text);
    } catch {
      return undefined;
    }
    if (filter.addresses.size >= ADDRESS_CACHE_SIZE) filter.addresses.clear();
    filter.addresses.set(text, address);
  }
  return address;
}
