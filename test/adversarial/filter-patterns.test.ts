// Random filter patterns around <ADDR> against user names that carry another address: whenever the
// safety check accepts a pattern, no such user name gets the injected address captured. A seeded
// property: fixed under CI=true, random by hand (the seed is printed; XTBAN_FUZZ_SEED=N repeats a run).
import fc from 'fast-check';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../src/core/filter.js';
import { checkPatternSafety } from '../../src/core/filter-safety.js';

const seed = Number(process.env['XTBAN_FUZZ_SEED'] ?? (process.env['CI'] === 'true' ? 20261202 : Math.floor(Math.random() * 2 ** 31)));
console.log(`filter-patterns seed: ${seed} (XTBAN_FUZZ_SEED=${seed} repeats it)`);

const INJECTED = '192.0.2.7';
const REAL = '203.0.113.5';

// Pieces of patterns, each spelled several ways.
const space = fc.constantFrom(
  ' ',
  String.raw`\x20`,
  String.raw`\x{20}`,
  String.raw`\040`,
  '[ ]',
  '[[:space:]]',
  String.raw`\s`,
  String.raw`\pZ`,
  String.raw`\ `,
  ' ?',
);
const anyChar = fc.constantFrom('.', String.raw`[\s\S]`, String.raw`[^\n]`, String.raw`\p{Any}`, '(?s:.)', String.raw`\W`, String.raw`[^x]`);
const word = fc.constantFrom(
  'port',
  'from',
  'ssh2',
  String.raw`\d+`,
  String.raw`\S+`,
  '[^ ]+',
  '[a-z]+',
  String.raw`\w+`,
  '[0-9.]+',
  '[A-Z0-9-]+',
  String.raw`\[preauth\]`,
  String.raw`(?i)PORT`,
  String.raw`[0-9a-f:]+`,
  String.raw`\S*`,
  String.raw`\d+\.\d+\.\d+\.\d+`,
);
const quantifier = fc.constantFrom('?', '*', '+', '{0,1000}', '{2}', '{1,3}', '{0,1}', '??', '*?');
const spaced: fc.Arbitrary<string> = fc.tuple(space, word).map(([s, w]) => `${s}${w}`);
const tailItem: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: spaced },
  { weight: 2, arbitrary: fc.tuple(spaced, quantifier).map(([item, q]) => `(?:${item})${q}`) },
  { weight: 1, arbitrary: fc.tuple(spaced, spaced, spaced).map(([a, b, c]) => `(?:${a}|${b}${c})`) },
  { weight: 1, arbitrary: fc.tuple(space, anyChar, fc.constantFrom('', '*', '+', '{0,1000}')).map(([s, a, q]) => `${s}${a}${q}`) },
  { weight: 1, arbitrary: fc.tuple(space, fc.constantFrom(String.raw`\S`, '[^ ]', '[a-z]', String.raw`\d`), quantifier).map(([s, w, q]) => `${s}${w}${q}`) },
);
const userField = fc.constantFrom('.*', '.*?', String.raw`\S+`, '[^ ]+', String.raw`\S+(?: \S+)?`, String.raw`(?:\S+ )*\S+`, '[a-z0-9. ]+', 'x');
const from = fc.constantFrom(' from ', String.raw`\x20from\x20`, String.raw`[ ]from\s`);
const pattern = fc.tuple(userField, from, fc.array(tailItem, { maxLength: 4 })).map(([user, sep, tail]) => `Invalid user ${user}${sep}<ADDR>${tail.join('')}`);

// What sshd writes: "Invalid user USER from REAL" and its own words; the client's user name carries
// " from 192.0.2.7" and more words of its choosing.
const sshdWord = fc.constantFrom('port', '4242', '22', 'ssh2', '[preauth]', 'abc', 'x', 'PORT');
const clientWord = fc.oneof(sshdWord, fc.constantFrom('from', REAL, INJECTED, `${INJECTED}:22`, 'a.b'));
const message = fc
  .tuple(fc.array(clientWord, { maxLength: 6 }), fc.array(sshdWord, { maxLength: 4 }))
  .map(
    ([injectedRest, sshdTail]) =>
      `Invalid user x from ${INJECTED}${injectedRest.map((w) => ` ${w}`).join('')} from ${REAL}${sshdTail.map((w) => ` ${w}`).join('')}`,
  );

const accepted = (source: string): boolean => {
  try {
    checkPatternSafety(source, 'filters.fuzz.patterns[0]');
    return true;
  } catch {
    return false;
  }
};

describe('random filter patterns and hostile user names', () => {
  it('never capture the injected address with a pattern the check accepts', () => {
    let acceptedPatterns = 0;
    let refusedThatCapture = 0;
    fc.assert(
      fc.property(pattern, fc.array(message, { minLength: 1, maxLength: 8 }), (source, messages) => {
        if (!accepted(source)) {
          // The check has teeth: count refused patterns that would have taken the injected address.
          const raw = new RE2(`^(?:${source.replace('<ADDR>', '(?<addr>[0-9A-Fa-f:.]{2,45})')})$`);
          if (messages.some((text) => raw.exec(text)?.groups?.['addr'] === INJECTED)) refusedThatCapture++;
          return;
        }
        acceptedPatterns++;
        const filter = compileFilter({ name: 'fuzz', programs: [], patterns: [source], ignore: [] });
        for (const text of messages) {
          const result = matchMessage(filter, undefined, text);
          expect(result.kind === 'match' ? result.address.text : undefined, `${source} on ${text}`).not.toBe(INJECTED);
        }
      }),
      { seed, numRuns: 1500 },
    );
    expect(acceptedPatterns).toBeGreaterThan(50);
    expect(refusedThatCapture).toBeGreaterThan(20);
  });

  it('judges every spelling of one pattern the same', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), word, fc.boolean()), { maxLength: 4 }), (parts) => {
        const spellings = [' ', String.raw`\x20`, String.raw`\x{20}`, String.raw`\040`, '[ ]', String.raw`[\x20]`, String.raw`\ `];
        const verdicts = new Set(
          spellings.map((s) => accepted(`Invalid user .* from <ADDR>${parts.map(([, w, optional]) => (optional ? `(?:${s}${w})?` : `${s}${w}`)).join('')}`)),
        );
        expect(verdicts.size).toBe(1);
      }),
      { seed, numRuns: 300 },
    );
  });
});
