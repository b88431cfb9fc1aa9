// The cheap readings of a capture (a pattern's head alone; its two sides around the one address-like
// run) against the whole pattern's capture, read greedy and lazy: every built-in filter, in every mode,
// over every captured line of every daemon, and over those lines with hostile text put inside them,
// gives the same result both ways.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../src/core/filter.js';
import { builtinSpec } from '../../src/core/filters/builtin.js';
import { BUILTIN_FILTERS } from '../../src/core/filters/index.js';
import { parseFileLine, parseJournalEntry, type LogRecord } from '../../src/core/log-line.js';

const LOGS = fileURLToPath(new URL('../../fixtures/logs/', import.meta.url));
const NOW = Date.UTC(2026, 11, 4);

// Every record of every captured log (journal entries, syslog and native lines), with its program.
function capturedRecords(): LogRecord[] {
  const records: LogRecord[] = [];
  for (const dir of readdirSync(LOGS, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const file of readdirSync(`${LOGS}${dir.name}`)) {
      if (file.endsWith('.jsonl')) continue;
      for (const line of readFileSync(`${LOGS}${dir.name}/${file}`, 'utf8').split('\n')) {
        const record = line.startsWith('{') ? parseJournalEntry(line) : parseFileLine(line, 'auto', NOW);
        if (record) records.push(record);
      }
    }
  }
  return records;
}

// Texts a client writes where it can: an innocent address alone, in the daemon's own words, glued to
// punctuation, and a second run of address characters that is no address.
const HOSTILE = [
  ' 203.0.113.9',
  ' from 203.0.113.9 port 22',
  ' from 203.0.113.9 port 22 ssh2',
  'rhost=2001:db8::9',
  '[203.0.113.9]',
  ', client: 203.0.113.9, ',
  ' ab',
  ' 1.2',
  ':',
  ' ',
];

function withHostileText(message: string): string[] {
  const out: string[] = [];
  for (let at = 0; at <= message.length; at += 5) for (const text of HOSTILE) out.push(message.slice(0, at) + text + message.slice(at));
  return out;
}

const records = capturedRecords();

describe('cheap readings of <ADDR> agree with the whole pattern', () => {
  it('has captured lines to read', () => {
    expect(records.length).toBeGreaterThan(500);
  });

  it('reads every sshd pattern by a shortcut (most by the sides of <ADDR>), nginx by the head before it', () => {
    const sshd = compileFilter(builtinSpec(BUILTIN_FILTERS.get('sshd')!, 'aggressive'));
    expect(sshd.patterns.every((_, index) => sshd.heads[index] || sshd.sides[index])).toBe(true);
    expect(sshd.sides.filter(Boolean).length).toBeGreaterThan(sshd.patterns.length / 2);
    for (const name of ['nginx-http-auth', 'nginx-botsearch'])
      expect(compileFilter(builtinSpec(BUILTIN_FILTERS.get(name)!, 'normal')).heads.every(Boolean)).toBe(true);
  });

  it('reads at the one address-like run only when the text before it fits the pattern too', () => {
    // "ab" is the pattern's <ADDR> here (no address: nothing is taken); the run 1.2.3.4 has the
    // pattern's tail after it (nothing), but not its head before it.
    const spec = { name: 'two-sides', programs: [], patterns: ['x <ADDR>(?: [g-z][^ ]*)?'], ignore: [], clientText: 'before-address' as const };
    const fast = compileFilter(spec);
    expect(fast.sides[0]).toBeDefined();
    for (const filter of [fast, compileFilter(spec, undefined, { exact: true })]) {
      expect(matchMessage(filter, undefined, 'x ab gz1.2.3.4')).toEqual({ kind: 'none' });
      expect(matchMessage(filter, undefined, 'x 1.2.3.4 gz')).toMatchObject({ kind: 'match', address: { text: '1.2.3.4' } });
    }
  });

  for (const [name, builtin] of BUILTIN_FILTERS) {
    for (const mode of builtin.modes ?? ['normal']) {
      it(`${name}, mode ${mode}`, () => {
        const spec = builtinSpec(builtin, mode);
        const fast = compileFilter(spec);
        const exact = compileFilter(spec, undefined, { exact: true });
        let matched = 0;
        let compared = 0;
        for (const record of records) {
          const result = matchMessage(fast, record.program, record.message);
          expect(result, record.message).toEqual(matchMessage(exact, record.program, record.message));
          if (result.kind !== 'match') continue;
          matched++;
          for (const message of withHostileText(record.message)) {
            compared++;
            expect(matchMessage(fast, record.program, message), message).toEqual(matchMessage(exact, record.program, message));
          }
        }
        expect(matched).toBeGreaterThan(0);
        expect(compared).toBeGreaterThan(matched);
      });
    }
  }
});
