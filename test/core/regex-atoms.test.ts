import { describe, expect, it } from 'vitest';
import { atomMatches } from '../../src/core/regex-atoms.js';

describe('atomMatches', () => {
  it('judges a construct by what RE2 matches with it, not by its spelling', () => {
    const space = atomMatches(' ', '');
    for (const spelling of [String.raw`\x20`, String.raw`\x{20}`, String.raw`\040`, '[ ]', String.raw`\ `]) expect(atomMatches(spelling, '')).toEqual(space);
    expect(space).toEqual({ space: true, nonWhitespace: false, hex: false, colon: false, dot: false });
    for (const spelling of [String.raw`\s`, '[[:space:]]', String.raw`\pZ`, '[\\t ]'])
      expect(atomMatches(spelling, '')).toMatchObject({ space: true, nonWhitespace: false });
    const any = atomMatches(String.raw`[\s\S]`, '');
    for (const spelling of ['.', String.raw`\p{Any}`, String.raw`[^\n]`, String.raw`\W`])
      expect(atomMatches(spelling, '').space && atomMatches(spelling, '').nonWhitespace).toBe(true);
    expect(any).toEqual({ space: true, nonWhitespace: true, hex: true, colon: true, dot: true });
    expect(atomMatches('[^ ]', '')).toMatchObject({ space: false, nonWhitespace: true, dot: true });
    expect(atomMatches(String.raw`\d`, '')).toEqual({ space: false, nonWhitespace: true, hex: true, colon: false, dot: false });
  });

  it('applies the flags: (?i) widens a letter, (?s) lets . match a newline', () => {
    expect(atomMatches('[g-z]', '').hex).toBe(false);
    expect(atomMatches('[A-F]', 'i')).toMatchObject({ hex: true });
    expect(atomMatches('[^A-Z]', 'i').hex).toBe(true);
    expect(atomMatches('[^a-z0-9]', 'i').hex).toBe(false);
  });

  it('throws what RE2 says of an atom it refuses', () => {
    expect(() => atomMatches(String.raw`\p{NoSuchScript}`, '')).toThrow(/invalid character class range/);
  });
});
