import { parseRegex, type RegexNode } from './regex-syntax.js';

// RE2's metacharacters: written escaped, each is itself.
const META = new Set([...'.^$|()[]{}*+?\\']);

// The character a one-character construct stands for when it is a literal, or undefined: a plain
// character other than a metacharacter, or a metacharacter or other punctuation escaped; case-blind
// ones ((?i)) are not.
function literalOf(node: RegexNode & { kind: 'char' }): string | undefined {
  if (node.flags.includes('i')) return undefined;
  const atom = node.atom;
  if ([...atom].length === 1) return META.has(atom) ? undefined : atom;
  if (atom.length === 2 && atom[0] === '\\' && /[^A-Za-z0-9]/.test(atom[1] ?? '')) return atom[1];
  return undefined;
}

// The longest run of literal characters every message the pattern matches must hold (its mandatory
// top-level text, inside plain groups too), or '' when it has none. A message without it cannot match,
// so a line can be passed over before RE2 sees it.
export function requiredLiteral(pattern: string, slot: string): string {
  let best = '';
  let run = '';
  const end = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  const walk = (node: RegexNode): void => {
    if (node.kind === 'concat') for (const item of node.items) walk(item);
    else if (node.kind === 'group') walk(node.body);
    else if (node.kind === 'char') {
      const literal = literalOf(node);
      if (literal === undefined) end();
      else run += literal;
    } else if (node.kind === 'assert') {
      // Matches no character: the run goes on.
    } else end();
  };
  walk(parseRegex(pattern, slot));
  end();
  return best;
}
