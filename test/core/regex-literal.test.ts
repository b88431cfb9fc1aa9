import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../src/core/filter.js';
import { builtinSpec } from '../../src/core/filters/builtin.js';
import { BUILTIN_FILTERS } from '../../src/core/filters/index.js';
import { parseFileLine, parseJournalEntry } from '../../src/core/log-line.js';
import { requiredLiteral } from '../../src/core/regex-literal.js';

describe('the literal a pattern requires', () => {
  it.each([
    [String.raw`Failed (?:password|publickey) for .* from <ADDR> port \d+ ssh2`, 'Failed '],
    [String.raw`\[error\] \d+#\d+: \*\d+ user "[^:]*": password mismatch, client: <ADDR>, .*`, '": password mismatch, client: '],
    [String.raw`Invalid user .* from <ADDR>(?: port \d+)?`, 'Invalid user '],
    [String.raw`(?:error: )?PAM: x <ADDR>`, 'PAM: x '],
    [String.raw`(?i)failed login from <ADDR>`, ''],
    [String.raw`a\.b\tc <ADDR>`, 'a.b'],
  ])('%s requires %j', (pattern, literal) => {
    expect(requiredLiteral(pattern, '<ADDR>')).toBe(literal);
  });

  it('passes over no line that a built-in filter matches (every fixture line, with and without the needles)', () => {
    const logs = new URL('../../fixtures/logs/', import.meta.url);
    for (const builtin of BUILTIN_FILTERS.values()) {
      for (const mode of builtin.modes ?? ['normal']) {
        const filter = compileFilter(builtinSpec(builtin, mode));
        const unfiltered = { ...filter, needles: undefined, heads: filter.heads.map(() => undefined) };
        if (builtin.name === 'nginx-botsearch' || builtin.name === 'nginx-http-auth') expect(filter.heads.some((head) => head !== undefined)).toBe(true);
        let files: string[] = [];
        try {
          files = readdirSync(new URL(`${builtin.name}/`, logs)).map((file) => `${builtin.name}/${file}`);
        } catch {
          continue;
        }
        for (const file of files.filter((name) => name.endsWith('.log') || name.endsWith('.json'))) {
          for (const line of readFileSync(new URL(file, logs), 'utf8').split('\n')) {
            const record = line.startsWith('{') ? parseJournalEntry(line) : parseFileLine(line, 'auto', Date.now());
            if (!record) continue;
            expect(matchMessage(filter, record.program, record.message), `${file}: ${line}`).toEqual(matchMessage(unfiltered, record.program, record.message));
          }
        }
      }
    }
  });
});
