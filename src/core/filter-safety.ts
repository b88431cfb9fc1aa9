import { inputError } from './errors.js';

// The slot a filter pattern names the offending address with.
export const ADDR_SLOT = '<ADDR>';

interface Atom {
  // Can this atom match a space character?
  space: boolean;
  // Can it match any character at all ('.', \W, \D, \p{..}): never allowed after the slot.
  wildcard: boolean;
  text: string;
}

// Reads one regular-expression atom at `i`: an escape, a class, a group (recursively), or a character.
function readAtom(source: string, i: number): { atom: Atom; next: number } {
  const c = source[i] ?? '';
  if (c === '\\') {
    const e = source[i + 1] ?? '';
    if (e === 'p' || e === 'P') return { atom: { space: true, wildcard: true, text: source.slice(i, i + 2) }, next: source.indexOf('}', i) + 1 || i + 2 };
    const space = e === 's' || e === 'W' || e === 'D';
    return { atom: { space, wildcard: e === 'W' || e === 'D', text: `\\${e}` }, next: i + 2 };
  }
  if (c === '.') return { atom: { space: true, wildcard: true, text: '.' }, next: i + 1 };
  if (c === '[') {
    let j = i + 1;
    const negated = source[j] === '^';
    if (negated) j++;
    let body = '';
    if (source[j] === ']') body += source[j++];
    while (j < source.length && source[j] !== ']') {
      if (source[j] === '\\') {
        body += source.slice(j, j + 2);
        j += 2;
      } else body += source[j++];
    }
    const hasSpace = body.includes(' ') || /\\[sWD]/.test(body) || spanIncludesSpace(body.replace(/\\./g, 'x'));
    // A negated class matches a space unless the space is among what it excludes.
    const space = negated ? !(body.includes(' ') || body.includes('\\s')) : hasSpace;
    return { atom: { space, wildcard: false, text: source.slice(i, j + 1) }, next: j + 1 };
  }
  if (c === '(') {
    let depth = 0;
    let j = i;
    let inClass = false;
    for (; j < source.length; j++) {
      const ch = source[j];
      if (ch === '\\') {
        j++;
        continue;
      }
      if (inClass) {
        if (ch === ']') inClass = false;
        continue;
      }
      if (ch === '[') inClass = true;
      else if (ch === '(') depth++;
      else if (ch === ')' && --depth === 0) break;
    }
    const inner = source.slice(i + 1, j).replace(/^\?(?::|<[A-Za-z_][A-Za-z0-9_]*>|P<[A-Za-z_][A-Za-z0-9_]*>)/, '');
    const atoms = readSequence(inner);
    return { atom: { space: atoms.some((atom) => atom.space), wildcard: atoms.some((atom) => atom.wildcard), text: source.slice(i, j + 1) }, next: j + 1 };
  }
  return { atom: { space: c === ' ', wildcard: false, text: c }, next: i + 1 };
}

// True when a class body holds a range that covers the space (for example "!-~" does not, " -~" does).
function spanIncludesSpace(body: string): boolean {
  for (const match of body.matchAll(/(.)-(.)/g)) {
    const low = (match[1] ?? '').charCodeAt(0);
    const high = (match[2] ?? '').charCodeAt(0);
    if (low <= 32 && high >= 32) return true;
  }
  return false;
}

// Reads a quantifier at `i`, if any: whether it lets the atom repeat without bound.
function readQuantifier(source: string, i: number): { unbounded: boolean; next: number } {
  const c = source[i];
  let next = i;
  let unbounded = false;
  if (c === '*' || c === '+') {
    unbounded = true;
    next = i + 1;
  } else if (c === '?') {
    next = i + 1;
  } else if (c === '{') {
    const close = source.indexOf('}', i);
    const body = close === -1 ? '' : source.slice(i + 1, close);
    if (/^\d+(,\d*)?$/.test(body)) {
      unbounded = body.endsWith(',');
      next = close + 1;
    }
  }
  if (next > i && source[next] === '?') next++;
  return { unbounded, next };
}

// Atoms of a sequence (alternation bars are kept as atoms that match nothing); quantifiers are folded in:
// an atom that can match a space under an unbounded quantifier becomes a wildcard for the tail rule.
function readSequence(source: string): Atom[] {
  const atoms: Atom[] = [];
  let i = 0;
  while (i < source.length) {
    if (source[i] === '|' || source[i] === '^' || source[i] === '$') {
      i++;
      continue;
    }
    const { atom, next } = readAtom(source, i);
    const quantifier = readQuantifier(source, next);
    atoms.push(quantifier.unbounded && atom.space ? { ...atom, wildcard: true } : atom);
    i = quantifier.next;
  }
  return atoms;
}

// Checks a user filter pattern. The rules keep an attacker from choosing the address:
// - exactly one <ADDR>, outside any group, so there is one place an address can come from;
// - after <ADDR>, nothing that can match an unbounded run of text containing spaces (no ., \W, \D,
//   no repeated space or \s): the address is then found at a fixed number of words from the end of the
//   message, where the daemon writes the peer's address, never inside text an attacker typed earlier
//   (a user name such as "from 192.0.2.7 port 22").
export function checkPatternSafety(pattern: string, where: string): void {
  const count = pattern.split(ADDR_SLOT).length - 1;
  if (count !== 1) throw inputError(`${where}: ${JSON.stringify(pattern)} has ${count} ${ADDR_SLOT} slots`, `a pattern names the offender exactly once with ${ADDR_SLOT}`);
  const at = pattern.indexOf(ADDR_SLOT);
  const head = pattern.slice(0, at);
  let depth = 0;
  for (let i = 0; i < head.length; i++) {
    if (head[i] === '\\') i++;
    else if (head[i] === '(') depth++;
    else if (head[i] === ')') depth--;
  }
  if (depth !== 0) throw inputError(`${where}: ${ADDR_SLOT} is inside a group in ${JSON.stringify(pattern)}`, `put ${ADDR_SLOT} at the top level of the pattern`);
  const tail = pattern.slice(at + ADDR_SLOT.length);
  const unsafe = readSequence(tail).find((atom) => atom.wildcard);
  if (unsafe) {
    throw inputError(
      `${where}: ${JSON.stringify(pattern)} is unsafe: after ${ADDR_SLOT} it has ${JSON.stringify(unsafe.text)}, which can match any run of words`,
      `an attacker could put "from 192.0.2.7 port 22" in a user name and have that address captured; after ${ADDR_SLOT} use only fixed words, \\d+, \\S+ or [^ ]+`,
    );
  }
}
