// What the built-in filters' unit tests share: the captured logs (fixtures/logs/<filter>/), a scan of
// files as `xtban scan` does it, and the same lines rewritten in the forms a syslog daemon keeps
// (rsyslog's lines, journald's entries).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanLogs } from '../../src/app/scan.js';
import { compileFilter } from '../../src/core/filter.js';
import { builtinSpec, type FilterMode } from '../../src/core/filters/builtin.js';
import { BUILTIN_FILTERS } from '../../src/core/filters/index.js';
import type { FileFormat } from '../../src/core/log-line.js';
import { scratchDir } from './scratch.js';
import { journalLine, rsyslogLine, type SyslogMessage } from './syslog-forms.js';

// A captured log of a filter's daemon.
export function fixture(filter: string, name: string): string {
  return fileURLToPath(new URL(`../../fixtures/logs/${filter}/${name}`, import.meta.url));
}

// The lines of a captured log, as written (the last newline ends the last line).
export function fixtureLines(filter: string, name: string): string[] {
  return readFileSync(fixture(filter, name), 'utf8').replace(/\n$/, '').split('\n');
}

export interface FixtureScan {
  // Matches per address.
  addresses: Record<string, number>;
  stats: { lines: number; matched: number; ignored: number; missed: number; ambiguous: number; unparsed: number; tooLong: number };
}

// A scan of the files with the built-in filter, as `xtban scan` runs it, at a time just after the
// captures (so that their year is this one).
export async function scanWith(filter: string, files: readonly string[], format: FileFormat = 'auto', mode: FilterMode = 'normal'): Promise<FixtureScan> {
  const builtin = BUILTIN_FILTERS.get(filter);
  if (!builtin) throw new Error(`no built-in filter ${filter}`);
  const spec = builtinSpec(builtin, mode);
  const report = await scanLogs(files, compileFilter(spec), spec, { maxretry: 1, findtimeSeconds: 86_400, threads: 1, nowMs: Date.UTC(2026, 11, 4), format });
  const { lines, matched, ignored, missed, ambiguous, unparsed, tooLong } = report.stats;
  return { addresses: Object.fromEntries(report.addresses), stats: { lines, matched, ignored, missed, ambiguous, unparsed, tooLong } };
}

// Writes the messages as rsyslog's lines and as journald's entries, in two files of a scratch directory.
export function syslogForms(messages: readonly SyslogMessage[]): { syslog: string; journal: string } {
  const dir = scratchDir('xtban-filter-forms-');
  const syslog = join(dir, 'syslog.log');
  const journal = join(dir, 'journal.json');
  writeFileSync(syslog, messages.map((message) => `${rsyslogLine(message)}\n`).join(''));
  writeFileSync(journal, messages.map((message) => `${journalLine(message)}\n`).join(''));
  return { syslog, journal };
}
