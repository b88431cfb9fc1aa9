// A fuzzer over every built-in filter and the real daemons' own lines (fixtures/logs/<filter>/): the
// attacker writes text wherever the filter's premise says a client may (before the address for a filter
// pinned from the end, after it for one pinned from the start, before it without the delimiter or
// after it for one pinned by a delimiter), built from innocent addresses, copies of the daemon's own
// words and the separators the patterns lean on. Whatever the text, a line that still matches names the
// address the daemon wrote, never one the attacker typed. Seeds are fixed under CI=true and random by
// hand (XTBAN_FUZZ_SEED=N repeats a run).
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage, type CompiledFilter, type FilterSpec } from '../../src/core/filter.js';
import { builtinSpec } from '../../src/core/filters/builtin.js';
import { BUILTIN_FILTERS } from '../../src/core/filters/index.js';
import { parseFileLine, parseJournalEntry } from '../../src/core/log-line.js';

const seed = Number(process.env['XTBAN_FUZZ_SEED'] ?? (process.env['CI'] === 'true' ? 20261203 : Math.floor(Math.random() * 2 ** 31)));
console.log(`builtin-filters seed: ${seed} (XTBAN_FUZZ_SEED=${seed} repeats it)`);

const LOGS = new URL('../../fixtures/logs/', import.meta.url);
const INNOCENT = ['203.0.113.9', '2001:db8::9', '::ffff:203.0.113.9'];

// Every message of a filter's fixtures that the filter matches, with its program.
function matchedMessages(name: string, filter: CompiledFilter): { program: string | undefined; message: string; address: string; pattern: number }[] {
  // fixtures/logs/<filter>/*.log and *.json, and fixtures/logs/<filter>-*.log.
  const files = readdirSync(LOGS)
    .filter((file) => file.startsWith(`${name}-`) && file.endsWith('.log'))
    .map((file) => new URL(file, LOGS));
  try {
    for (const file of readdirSync(new URL(`${name}/`, LOGS)))
      if (file.endsWith('.log') || file.endsWith('.json')) files.push(new URL(`${name}/${file}`, LOGS));
  } catch {
    // No directory of captures for this filter (yet).
  }
  const found: { program: string | undefined; message: string; address: string; pattern: number }[] = [];
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const record = line.startsWith('{') ? parseJournalEntry(line) : parseFileLine(line, 'auto', Date.now());
      if (!record) continue;
      const result = matchMessage(filter, record.program, record.message);
      if (result.kind === 'match') found.push({ program: record.program, message: record.message, address: result.address.text, pattern: result.pattern });
    }
  }
  return found;
}

// Where in the message the captured text starts: of its occurrences, the one whose replacement moves the capture.
function capturedAt(filter: CompiledFilter, program: string | undefined, message: string, captured: string): { start: number; end: number } | undefined {
  const lower = message.toLowerCase();
  // The mapped form first: a daemon that writes ::ffff:a.b.c.d wrote all of it, and a text put inside it
  // is no text before the address.
  const texts = [`::ffff:${captured}`, captured];
  for (const text of texts) {
    for (let at = lower.indexOf(text.toLowerCase()); at !== -1; at = lower.indexOf(text.toLowerCase(), at + 1)) {
      const marked = `${message.slice(0, at)}192.0.2.254${message.slice(at + text.length)}`;
      const result = matchMessage(filter, program, marked);
      if (result.kind === 'match' && result.address.text === '192.0.2.254') return { start: at, end: at + text.length };
    }
  }
  return undefined;
}

// The run of characters an address is written with ([0-9A-Fa-f:.]) that holds the span.
function addressRun(message: string, span: { start: number; end: number }): { from: number; to: number } {
  const isAddressChar = (at: number): boolean => /[0-9A-Fa-f:.]/.test(message.charAt(at));
  let from = span.start;
  while (from > 0 && isAddressChar(from - 1)) from--;
  let to = span.end;
  while (to < message.length && isAddressChar(to)) to++;
  return { from, to };
}

describe("built-in filters against injected text, on the real daemons' lines", () => {
  for (const builtin of BUILTIN_FILTERS.values()) {
    const spec: FilterSpec = builtinSpec(builtin, builtin.modes?.includes('aggressive') ? 'aggressive' : 'normal');
    const filter = compileFilter(spec);
    const messages = matchedMessages(builtin.name, filter);
    it(`${builtin.name}: a client's text where the filter allows it never gets another address taken (${messages.length} real messages)`, () => {
      if (messages.length === 0) return;
      const fragment = (message: string) =>
        fc.oneof(
          fc.constantFrom(...INNOCENT),
          fc.constantFrom(
            ' ',
            ':',
            '"',
            "'",
            ',',
            '[',
            ']',
            '(',
            ')',
            '<',
            '>',
            '@',
            '=',
            '\\x22',
            ' port 22',
            ' from ',
            ' ssh2',
            ' [preauth]',
            ', client: ',
            ', server: x',
          ),
          // The daemon's own words: the strongest injection repeats what the daemon writes around an address.
          fc
            .integer({ min: 0, max: Math.max(0, message.length - 1) })
            .chain((from) => fc.integer({ min: from, max: message.length }).map((to) => message.slice(from, to))),
        );
      fc.assert(
        fc.property(fc.constantFrom(...messages), fc.nat(), fc.nat(), (sample, where, which) => {
          const clientText = spec.clientTexts?.[sample.pattern] ?? spec.clientText ?? 'anywhere';
          const span = capturedAt(filter, sample.program, sample.message, sample.address);
          if (!span) return true;
          // Text a client may write: strictly before the address's word (one character of the daemon's
          // between), strictly after it, or both, as the filter's premise allows.
          const before = spec.delimiter !== undefined || clientText === 'before-address' || clientText === 'anywhere';
          const after = spec.delimiter !== undefined || clientText === 'after-address' || clientText === 'anywhere';
          // The daemon's own word around the address: the run of address characters it is part of (an
          // IPv4-mapped "::ffff:" before it, apache's ":PORT" after it). A client's text is never inside it.
          const { from, to } = addressRun(sample.message, span);
          const sides = [...(before && from > 0 ? ['before'] : []), ...(after && to < sample.message.length ? ['after'] : [])];
          if (sides.length === 0) return true;
          const side = sides[which % sides.length];
          const at = side === 'before' ? where % from : to + 1 + (where % (sample.message.length - to));
          return fc.assert(
            fc.property(fc.array(fragment(sample.message), { minLength: 1, maxLength: 6 }), (parts) => {
              let text = parts.join('');
              if (side === 'before' && spec.delimiter !== undefined) text = text.split(spec.delimiter).join('');
              const message = `${sample.message.slice(0, at)}${text}${sample.message.slice(at)}`;
              const result = matchMessage(filter, sample.program, message);
              if (result.kind === 'match') expect(result.address.text, JSON.stringify(message)).toBe(sample.address);
            }),
            { seed: seed + where, numRuns: 20 },
          );
        }),
        { seed, numRuns: 200 },
      );
    });
  }
});
