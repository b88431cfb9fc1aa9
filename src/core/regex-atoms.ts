import RE2 from 're2';
import type { CharFlags } from './regex-syntax.js';

// What a one-character construct of a pattern (a literal, an escape, a class, '.') can match, asked of
// RE2 itself: the construct alone, under its flags, against each character of a probe alphabet. So " ",
// \x20, \x{20}, \040, [ ] and [[:space:]] are judged by what they match, never by how they are written.
export interface AtomMatches {
  // The space, U+0020: what programs write between the words of a message.
  space: boolean;
  // Some character that is not whitespace (Unicode White_Space).
  nonWhitespace: boolean;
  // A hexadecimal digit, ':' and '.': the characters of an address.
  hex: boolean;
  colon: boolean;
  dot: boolean;
}

// Unicode White_Space: ASCII tab to carriage return and space, U+0085, U+00A0, U+1680, U+2000 to U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000.
const WHITESPACE = [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, ...range(0x2000, 0x200a), 0x2028, 0x2029, 0x202f, 0x205f, 0x3000];

// All of ASCII, the other whitespace, and a few letters and digits beyond ASCII (among them U+212A, the
// Kelvin sign, and U+017F, the long s, which (?i) matches as k and s).
const PROBES = [...range(0x00, 0x7f), ...WHITESPACE.filter((code) => code > 0x7f), 0xe9, 0xdf, 0x17f, 0x212a, 0x3a9, 0x434, 0x663, 0x4e2d, 0xfeff, 0x1f600];
const WHITESPACE_SET = new Set(WHITESPACE);
const HEX = new Set([...'0123456789abcdefABCDEF'].map((c) => c.charCodeAt(0)));

const cache = new Map<string, AtomMatches>();

// What `atom` (RE2 text for one character) matches under `flags`. Throws RE2's error for an invalid atom.
export function atomMatches(atom: string, flags: CharFlags): AtomMatches {
  const key = `${flags}\u0000${atom}`;
  const known = cache.get(key);
  if (known) return known;
  const re = new RE2(`${flags === '' ? '' : `(?${flags})`}\\A(?:${atom})\\z`);
  const result: AtomMatches = { space: false, nonWhitespace: false, hex: false, colon: false, dot: false };
  for (const code of PROBES) {
    if (!re.test(String.fromCodePoint(code))) continue;
    if (code === 0x20) result.space = true;
    if (!WHITESPACE_SET.has(code)) result.nonWhitespace = true;
    if (HEX.has(code)) result.hex = true;
    if (code === 0x3a) result.colon = true;
    if (code === 0x2e) result.dot = true;
  }
  cache.set(key, result);
  return result;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

const probeCache = new Map<string, ReadonlySet<number>>();

// The characters among the probes (ASCII, whitespace, a few beyond) that `atom` matches under `flags`:
// one character for a literal, more for a class.
export function atomProbes(atom: string, flags: CharFlags): ReadonlySet<number> {
  const key = `${flags}\u0000${atom}`;
  const known = probeCache.get(key);
  if (known) return known;
  const re = new RE2(`${flags === '' ? '' : `(?${flags})`}\\A(?:${atom})\\z`);
  const matched = new Set(PROBES.filter((code) => re.test(String.fromCodePoint(code))));
  probeCache.set(key, matched);
  return matched;
}
