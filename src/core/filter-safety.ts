// Whether a user filter pattern lets an attacker choose the address it captures. The pattern is parsed
// (regex-syntax.ts) and what each one-character construct matches is asked of RE2 (regex-atoms.ts), so
// every spelling of the same pattern gets the same verdict.
//
// The attack: a program writes text a client chose (a user name) before the client's address, as sshd
// writes "Invalid user USER from ADDRESS port N". A user name such as "x from 192.0.2.7 port 22" puts a
// second address before the real one; if the part of the pattern after <ADDR> (the tail) can also match
// " port 22 from 203.0.113.5 port 4242", the pattern captures 192.0.2.7. The rule:
// - <ADDR> exactly once, at the top level: not inside a group or an alternation branch (so a "(" written
//   as \( or [(] before it is fine);
// - in the tail, no construct that matches a space and also a character that is not whitespace ('.',
//   [\s\S], \W, \D, [^x], [[:print:]]): a space is what separates words, and a word stays a word;
// - in the tail, nothing that can match a space repeats ({0,1000} and {3} as much as * and +): no run of
//   words;
// - in the tail, no word after a space can begin with an address: a word that can start with a hex digit
//   or ':' and go on, through hex digits, to a '.' or ':' and one more hex digit, '.' or ':' (\S+, [^ ]+,
//   [0-9.]+ can; \d+, \w+, \d+: at the end of a word, SHA256:\S+ cannot). This is what makes the rule
//   sound: the real address is a word the program wrote after a space, so a tail that matches past it
//   has a word matching it, and there is none. (A limit on how many words the tail's optional parts add
//   would not do: a pattern whose tail wants more words than the program writes lets the injected words
//   fill the gap, and sshd's own "not allowed because (...)" differs by four words between branches.)
// The space is the separator because it is what programs write between words; sshd writes a tab or a
// newline in a user name as \t or \n.
import { inputError } from './errors.js';
import { atomMatches, atomProbes, type AtomMatches } from './regex-atoms.js';
import { parseRegex, RegexSyntaxError, type RegexNode } from './regex-syntax.js';

// The slot a filter pattern names the offending address with.
export const ADDR_SLOT = '<ADDR>';

const ATTACK = `an attacker could put "from 192.0.2.7 port 22" in a user name and have that address captured`;

// Checks a user filter pattern (RE2 syntax) against the rule above; throws an input error naming the
// construct that breaks it. With client text 'anywhere' (the default), a tail that can carry an
// address anywhere in it (a user name written after the address, "rhost=ADDR user=NAME") also holds
// the head, the text before <ADDR>, to the first two rules: a head that matches a run of words (.*)
// could reach past the real address and take one the client wrote after it.
export function checkPatternSafety(
  pattern: string,
  where: string,
  options: { clientText?: 'anywhere' | 'before-address' | 'after-address'; delimiter?: string } = {},
): void {
  const count = pattern.split(ADDR_SLOT).length - 1;
  const quoted = JSON.stringify(pattern);
  if (count !== 1) throw inputError(`${where}: ${quoted} has ${count} ${ADDR_SLOT} slots`, `a pattern names the offender exactly once with ${ADDR_SLOT}`);
  let tree: RegexNode;
  try {
    tree = parseRegex(pattern, ADDR_SLOT);
  } catch (error) {
    if (!(error instanceof RegexSyntaxError)) throw error;
    throw inputError(
      `${where}: ${quoted} cannot be checked: at ${JSON.stringify(pattern.slice(error.offset, error.offset + 12))}, ${error.message}`,
      'xtban reads a pattern to check it and refuses what it cannot read: write it in plain RE2 syntax',
    );
  }
  const tail = tailOf(tree, pattern, where);
  const text = (node: RegexNode): string => JSON.stringify(pattern.slice(node.start, node.end));
  const unsafe = (what: string, why: string, hint: string): never => {
    throw inputError(`${where}: ${quoted} is unsafe: after ${ADDR_SLOT} it has ${what}, which ${why}`, `${ATTACK}; ${hint}`);
  };
  const matches = (node: RegexNode & { kind: 'char' }): AtomMatches => {
    try {
      return atomMatches(node.atom, node.flags);
    } catch (error) {
      throw inputError(
        `${where}: ${quoted} is not a valid pattern: ${error instanceof Error ? error.message : String(error)}`,
        'RE2 syntax: no backreferences or lookarounds',
      );
    }
  };
  const each = (visitor: (node: RegexNode) => void): void => {
    for (const node of tail) visit(node, visitor);
  };
  if (options.delimiter !== undefined) {
    checkDelimited(headOf(tree), options.delimiter, pattern, where);
    return;
  }
  if (options.clientText === 'after-address') {
    checkPinnedHead(headOf(tree), matches, pattern, where);
    return;
  }
  each((node) => {
    if (node.kind !== 'char') return;
    const m = matches(node);
    if (m.space && m.nonWhitespace)
      unsafe(
        text(node),
        'matches a space and other characters too',
        `after ${ADDR_SLOT} write spaces as spaces and words with what excludes the space (\\d+, \\w+, [a-z]+)`,
      );
  });
  each((node) => {
    if (node.kind === 'repeat' && node.max > 1 && canMatchSpace(node.body, matches)) {
      unsafe(
        text(node),
        'repeats a space: it matches a run of words',
        `after ${ADDR_SLOT} write each word: at most one space in a row, optional at most once (?)`,
      );
    }
  });
  if (options.clientText !== 'before-address' && addressWord(tail, matches, 'anywhere')) {
    const head = headOf(tree);
    const reaching = (what: string): never => {
      throw inputError(
        `${where}: ${quoted} is unsafe: before ${ADDR_SLOT} it has ${what}, which can reach past the address, and the text after ${ADDR_SLOT} can hold an address a client typed`,
        `a program that writes the client's text after the address (rhost=ADDR user=NAME) lets a user name such as "x rhost=192.0.2.7" put a second address at the end; before ${ADDR_SLOT} write fixed text and fields without spaces (\\S*, \\d+), or, if the program writes client text only before the address, say so with client_text = "before-address"`,
      );
    };
    for (const node of head) {
      visit(node, (inner) => {
        if (inner.kind === 'char' && matches(inner).space && matches(inner).nonWhitespace) reaching(text(inner));
        if (inner.kind === 'repeat' && inner.max > 1 && canMatchSpace(inner.body, matches)) reaching(text(inner));
      });
    }
  }
  const word = addressWord(tail, matches, 'after-space');
  if (word) {
    unsafe(
      `the word ${JSON.stringify(pattern.slice(word.start, word.end))}`,
      'can hold an address',
      `after ${ADDR_SLOT} a word must not be able to begin with an address (a hex digit or ":", then "." or ":"): use \\d+, \\w+ or a class without "." and ":", or start the word with fixed text`,
    );
  }
}

// The constructs before the slot (the slot is known to be at the top level).
function headOf(tree: RegexNode): RegexNode[] {
  const items = tree.kind === 'concat' ? tree.items : [tree];
  const at = items.findIndex((node) => node.kind === 'slot');
  return at === -1 ? [] : items.slice(0, at);
}

// The constructs after the slot, once the slot is known to be at the top level.
function tailOf(tree: RegexNode, pattern: string, where: string): RegexNode[] {
  const quoted = JSON.stringify(pattern);
  const items = tree.kind === 'concat' ? tree.items : [tree];
  const at = items.findIndex((node) => node.kind === 'slot');
  if (at !== -1) return items.slice(at + 1);
  const path = slotPath(tree);
  if (path === undefined) {
    throw inputError(
      `${where}: the ${ADDR_SLOT} in ${quoted} is inside a class or \\Q...\\E, so it is not a slot`,
      `write ${ADDR_SLOT} as plain text at the top level of the pattern`,
    );
  }
  if (path.includes('group') || path.includes('repeat'))
    throw inputError(`${where}: ${ADDR_SLOT} is inside a group in ${quoted}`, `put ${ADDR_SLOT} at the top level of the pattern`);
  throw inputError(
    `${where}: ${ADDR_SLOT} is inside an alternation branch in ${quoted}`,
    `put ${ADDR_SLOT} at the top level of the pattern; give each alternative a pattern of its own`,
  );
}

// The kinds of the nodes around the slot, outermost first; undefined when there is no slot node.
function slotPath(node: RegexNode): RegexNode['kind'][] | undefined {
  if (node.kind === 'slot') return [];
  for (const child of children(node)) {
    const path = slotPath(child);
    if (path) return [node.kind, ...path];
  }
  return undefined;
}

function children(node: RegexNode): RegexNode[] {
  if (node.kind === 'concat') return node.items;
  if (node.kind === 'alternate') return node.branches;
  if (node.kind === 'group' || node.kind === 'repeat') return [node.body];
  return [];
}

function visit(node: RegexNode, each: (node: RegexNode) => void): void {
  each(node);
  for (const child of children(node)) visit(child, each);
}

function canMatchSpace(node: RegexNode, matches: (node: RegexNode & { kind: 'char' }) => AtomMatches): boolean {
  if (node.kind === 'char') return matches(node).space;
  return children(node).some((child) => canMatchSpace(child, matches));
}

// Where the tail may be in a word that could be an address, along some way through the pattern:
// 'other' not (the word glued to the address, or a word that cannot begin with one), 'start' just after a
// space, 'hex' after hex digits from a word's start, 'punct' after such digits (or none) and a '.' or ':'.
interface WordState {
  kind: 'other' | 'start' | 'hex' | 'punct';
  // Where the word began in the pattern (for 'hex' and 'punct').
  from: number;
}

// Thrown from deep in the run over the tail to stop at the first word found.
class AddressWord extends Error {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {
    super('a word that can hold an address');
  }
}

// The first word of the tail that can begin with an address, as a span of the pattern; undefined if none.
// 'after-space': words that begin after a space; 'anywhere': an address glued to any other character
// too (",user=192.0.2.7"). The tail is run as a set of states over every way through it (a repetition
// until no new state comes).
function addressWord(
  tail: RegexNode[],
  matches: (node: RegexNode & { kind: 'char' }) => AtomMatches,
  where: 'after-space' | 'anywhere',
): { start: number; end: number } | undefined {
  // What a character that cannot be in an address leaves: no word, or (anywhere) a place one may begin.
  const elsewhere: WordState = where === 'anywhere' ? { kind: 'start', from: -1 } : { kind: 'other', from: -1 };
  const key = (state: WordState): string => `${state.kind}@${state.from}`;
  const add = (into: Map<string, WordState>, state: WordState): void => {
    into.set(key(state), state);
  };
  // `repeats`: the repetitions around the node, outermost first, so a report can quote "\S+", not "\S".
  const flow = (node: RegexNode, states: Map<string, WordState>, repeats: RegexNode[]): Map<string, WordState> => {
    switch (node.kind) {
      case 'assert':
      case 'slot':
        return states;
      case 'concat':
        return node.items.reduce((current, item) => flow(item, current, repeats), states);
      case 'alternate': {
        const out = new Map<string, WordState>();
        for (const branch of node.branches) for (const state of flow(branch, states, repeats).values()) add(out, state);
        return out;
      }
      case 'group':
        return flow(node.body, states, repeats);
      case 'repeat': {
        const inner = [...repeats, node];
        let current = states;
        for (let round = 0; round < node.min; round++) {
          const next = flow(node.body, current, inner);
          if (sameKeys(next, current)) break;
          current = next;
        }
        const all = new Map(current);
        for (let round = node.min; round < node.max; round++) {
          current = flow(node.body, current, inner);
          const before = all.size;
          for (const state of current.values()) add(all, state);
          if (all.size === before) break;
        }
        return all;
      }
      case 'char': {
        const m = matches(node);
        const out = new Map<string, WordState>();
        for (const state of states.values()) {
          if (m.space) add(out, { kind: 'start', from: -1 });
          if (state.kind === 'start') {
            if (m.hex) add(out, { kind: 'hex', from: node.start });
            if (m.colon) add(out, { kind: 'punct', from: node.start });
          } else if (state.kind === 'hex') {
            if (m.hex) add(out, state);
            if (m.colon || m.dot) add(out, { kind: 'punct', from: state.from });
          } else if (state.kind === 'punct' && (m.hex || m.colon || m.dot)) {
            const around = repeats.find((repeat) => repeat.start >= state.from);
            throw new AddressWord(state.from, Math.max(node.end, around?.end ?? 0));
          }
          // Any other character leaves a word that cannot be an address (or, anywhere, a new start).
          add(out, elsewhere);
        }
        return out;
      }
    }
  };
  try {
    flow({ kind: 'concat', items: tail, start: 0, end: 0 }, new Map([[key(elsewhere), elsewhere]]), []);
  } catch (error) {
    if (error instanceof AddressWord) return { start: error.start, end: error.end };
    throw error;
  }
  return undefined;
}

function sameKeys(a: Map<string, WordState>, b: Map<string, WordState>): boolean {
  return a.size === b.size && [...a.keys()].every((key) => b.has(key));
}

// Pinned from the start (client text only after the address): before <ADDR>, nothing that repeats may
// match a space, a '.' or a ':', and nothing may match a space and other characters too. The text
// before the address is then the program's own fields, and no way through it can step over the real
// address (a word with dots or colons) to one a client wrote after it: the tail may be anything.
function checkPinnedHead(head: RegexNode[], matches: (node: RegexNode & { kind: 'char' }) => AtomMatches, pattern: string, where: string): void {
  const quoted = JSON.stringify(pattern);
  const refuse = (node: RegexNode, why: string): never => {
    throw inputError(
      `${where}: ${quoted} is unsafe: before ${ADDR_SLOT} it has ${JSON.stringify(pattern.slice(node.start, node.end))}, which ${why}`,
      `with client_text = "after-address" the text before ${ADDR_SLOT} must be the program's own fixed fields, so that nothing can step over the address to one a client typed after it: write words as \\d+, \\w+ or [A-Za-z_-]+, and spaces, dots and colons one at a time`,
    );
  };
  const canMatch = (node: RegexNode, test: (m: AtomMatches) => boolean): boolean =>
    node.kind === 'char' ? test(matches(node)) : children(node).some((child) => canMatch(child, test));
  for (const top of head) {
    visit(top, (node) => {
      if (node.kind === 'char' && matches(node).space && matches(node).nonWhitespace) refuse(node, 'matches a space and other characters too');
      if (node.kind === 'repeat' && node.max > 1 && canMatch(node.body, (m) => m.space || m.dot || m.colon))
        refuse(node, 'repeats a space, a "." or a ":": it can step over an address');
    });
  }
}

// Pinned by a delimiter: the client's text before the address never holds `delimiter` (the program
// splits it there or escapes it), so the address is the one after the Nth delimiter when every way
// through the text before <ADDR> has the same N, writes each one as itself, and ends with one followed
// only by fixed characters.
function checkDelimited(head: RegexNode[], delimiter: string, pattern: string, where: string): void {
  const quoted = JSON.stringify(pattern);
  const code = delimiter.codePointAt(0) ?? -1;
  const refuse = (node: RegexNode | undefined, why: string): never => {
    const at = node === undefined ? '' : ` ${JSON.stringify(pattern.slice(node.start, node.end))}`;
    throw inputError(
      `${where}: ${quoted} is unsafe: before ${ADDR_SLOT}${at} ${why}`,
      `with delimiter = ${JSON.stringify(delimiter)} the text before ${ADDR_SLOT} must hold the same number of ${JSON.stringify(delimiter)} on every way through it, each written as itself, the last followed only by fixed text; everything else before ${ADDR_SLOT} must exclude ${JSON.stringify(delimiter)} (e.g. [^${delimiter}]*)`,
    );
  };
  const isDelimiter = (node: RegexNode): boolean =>
    node.kind === 'char' && atomProbes(node.atom, node.flags).size === 1 && atomProbes(node.atom, node.flags).has(code);
  // The numbers of delimiters the node can match.
  const counts = (node: RegexNode): Set<number> => {
    switch (node.kind) {
      case 'char':
        if (isDelimiter(node)) return new Set([1]);
        if (atomProbes(node.atom, node.flags).has(code)) refuse(node, `matches ${JSON.stringify(delimiter)} and other characters too`);
        return new Set([0]);
      case 'assert':
      case 'slot':
        return new Set([0]);
      case 'group':
        return counts(node.body);
      case 'concat':
        return node.items.reduce(
          (sums, item) => {
            const next = new Set<number>();
            for (const a of sums) for (const b of counts(item)) next.add(a + b);
            return next;
          },
          new Set([0]),
        );
      case 'alternate':
        return new Set(node.branches.flatMap((branch) => [...counts(branch)]));
      case 'repeat': {
        const inner = counts(node.body);
        if ([...inner].some((n) => n > 0) && node.min !== node.max) refuse(node, `matches a varying number of ${JSON.stringify(delimiter)}`);
        return new Set([...inner].map((n) => n * node.min));
      }
    }
  };
  const total = counts({ kind: 'concat', items: head, start: 0, end: 0 });
  if (total.size !== 1)
    refuse(undefined, `holds a varying number of ${JSON.stringify(delimiter)} (${[...total].sort().join(' or ')}) on different ways through it`);
  if ([...total][0] === 0) refuse(undefined, `holds no ${JSON.stringify(delimiter)}`);
  const last = head.map(isDelimiter).lastIndexOf(true);
  if (last === -1) refuse(undefined, `does not end with a ${JSON.stringify(delimiter)} written at the top level`);
  for (const node of head.slice(last + 1)) {
    if (node.kind !== 'char' || atomProbes(node.atom, node.flags).size !== 1)
      refuse(node, `follows the last ${JSON.stringify(delimiter)} and is not fixed text`);
  }
}
