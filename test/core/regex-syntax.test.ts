import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { parseRegex, RegexSyntaxError, type RegexNode } from '../../src/core/regex-syntax.js';

// The tree as short text: c(ATOM/flags) for a character, @ for an assertion, S for the slot.
function show(node: RegexNode): string {
  switch (node.kind) {
    case 'char':
      return node.flags === '' ? `c(${node.atom})` : `c(${node.atom}/${node.flags})`;
    case 'assert':
      return '@';
    case 'slot':
      return 'S';
    case 'concat':
      return `[${node.items.map(show).join(' ')}]`;
    case 'alternate':
      return `alt(${node.branches.map(show).join(' | ')})`;
    case 'group':
      return `g${show(node.body)}`;
    case 'repeat':
      return `${show(node.body)}{${node.min},${node.max === Infinity ? '' : node.max}}`;
  }
}

const charsOf = (node: RegexNode): (RegexNode & { kind: 'char' })[] => {
  if (node.kind === 'char') return [node];
  if (node.kind === 'concat') return node.items.flatMap(charsOf);
  if (node.kind === 'alternate') return node.branches.flatMap(charsOf);
  if (node.kind === 'group' || node.kind === 'repeat') return charsOf(node.body);
  return [];
};

describe('parseRegex', () => {
  it.each([
    ['ab', '[c(a) c(b)]'],
    [String.raw`a\.\x20\x{20}\040\0\12\t\ `, String.raw`[c(a) c(\.) c(\x20) c(\x{20}) c(\040) c(\0) c(\12) c(\t) c(\ )]`],
    [String.raw`\d\S\pL\p{Greek}\P{^Greek}\PN.`, String.raw`[c(\d) c(\S) c(\pL) c(\p{Greek}) c(\P{^Greek}) c(\PN) c(.)]`],
    ['[]a][^]a][a-z-][[:space:]x][[][a\\]b]', '[c([]a]) c([^]a]) c([a-z-]) c([[:space:]x]) c([[]) c([a\\]b])]'],
    [String.raw`[\x{41}-\x{5A}\d\p{Greek}-]`, String.raw`[c([\x{41}-\x{5A}\d\p{Greek}-])]`],
    [String.raw`\Q(.)\E*x`, String.raw`[c(\x{28}) c(\x{2e}) c(\x{29}){0,} c(x)]`],
    [String.raw`\Qab`, String.raw`[c(\x{61}) c(\x{62})]`],
    ['a*b+?c?d{2}e{2,}f{2,5}?', '[c(a){0,} c(b){1,} c(c){0,1} c(d){2,2} c(e){2,} c(f){2,5}]'],
    ['(a|b)(?:c)(?P<n>d)(?<m>e)', '[galt([c(a)] | [c(b)]) g[c(c)] g[c(d)] g[c(e)]]'],
    ['^a$\\A\\z\\b\\B', '[@ c(a) @ @ @ @ @]'],
    ['x<ADDR>y', '[c(x) S c(y)]'],
    ['[<ADDR>]', '[c([<ADDR>])]'],
    ['a]b}', '[c(a) c(]) c(b) c(})]'],
    ['😀+', '[c(😀){1,}]'],
    ['', '[]'],
    ['a||b', 'alt([c(a)] | [] | [c(b)])'],
  ])('reads %s', (source, tree) => {
    expect(show(parseRegex(source, '<ADDR>'))).toBe(tree);
  });

  it('gives each character the flags in force: (?i) to the end of its group, across |, and (?s:...) inside', () => {
    expect(show(parseRegex('a(?i)b|c'))).toBe('alt([c(a) @ c(b/i)] | [c(c/i)])');
    expect(show(parseRegex('(?:(?i)a)b'))).toBe('[g[@ c(a/i)] c(b)]');
    expect(show(parseRegex('(?is)a(?-i:b)(?s-i).'))).toBe('[@ c(a/is) g[c(b/s)] @ c(./s)]');
    expect(show(parseRegex('(?U)a*(?m)^'))).toBe('[@ c(a){0,} @ @]');
  });

  it('keeps where each construct was written', () => {
    const tree = parseRegex(String.raw`ab(?: \S+)?`);
    expect(tree.kind === 'concat' && tree.items.map((node) => String.raw`ab(?: \S+)?`.slice(node.start, node.end))).toEqual(['a', 'b', String.raw`(?: \S+)?`]);
  });

  it.each([
    ['(?=a)', 'is not a group RE2 has'],
    ['(?!a)', 'is not a group RE2 has'],
    ['(?P=n)', 'is not a group RE2 has'],
    ['(a)\\1', 'backreference "\\\\1"'],
    ['\\8', 'backreference'],
    ['\\C', 'any byte'],
    ['\\u0020', 'unknown escape "\\\\u"'],
    ['\\cA', 'unknown escape'],
    ['\\e', 'unknown escape'],
    ['\\Z', 'unknown escape'],
    ['a\\', 'at the end of the pattern'],
    ['\\E', 'without'],
    ['[\\Q]\\E]', 'inside a class'],
    ['[a-\\d]', 'bad range end'],
    ['[abc', 'missing "]"'],
    ['(ab', 'missing ")"'],
    ['ab)', 'unmatched ")"'],
    ['*a', 'nothing to repeat'],
    ['a**', 'a repetition of a repetition'],
    ['a*+', 'a repetition of a repetition'],
    ['a{2}{3}', 'a repetition of a repetition'],
    ['a{,2}', 'does not start a repetition'],
    ['a{3,2}', 'bad repetition'],
    ['^*', 'nothing to repeat'],
    ['\\x2', 'bad hexadecimal escape'],
    ['\\x{}', 'bad hexadecimal escape'],
    ['\\p{}', 'bad Unicode class'],
    ['(?<a-b>x)', 'bad group name'],
    ['(?)', 'empty flags'],
    ['(?i-)', 'empty flags'],
    ['(?x)', 'is not a group RE2 has'],
    ['<ADDR>*', 'the slot cannot repeat'],
  ])('refuses %s', (source, reason) => {
    expect(() => parseRegex(source, '<ADDR>')).toThrow(RegexSyntaxError);
    expect(() => parseRegex(source, '<ADDR>')).toThrow(reason);
  });

  it('cuts characters out that RE2 compiles alone, for every pattern it reads', () => {
    for (const source of [
      String.raw`[]a][^]a][a-z-][[:space:]x][[][a\]b]`,
      String.raw`\Q(.)\E\x{20}\040\12\pL\p{^Greek}[\x{41}-\x{5A}\d-](?i)k`,
      String.raw`Failed (?:password|none) for .* from <ADDR> port \d+ ssh2(?:: [A-Z0-9-]+ SHA256:[A-Za-z0-9+/=]+)?`,
    ]) {
      expect(() => new RE2(source)).not.toThrow();
      for (const char of charsOf(parseRegex(source, '<ADDR>'))) expect(() => new RE2(`(?${char.flags || 'i'})\\A(?:${char.atom})\\z`), char.atom).not.toThrow();
    }
  });
});
