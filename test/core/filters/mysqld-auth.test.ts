// The mysqld-auth filter over what MariaDB 10.11 really wrote (fixtures/logs/mysqld-auth/, captured by
// test/kernel/filters/mysqld-auth.test.ts): its error log, and the same lines as the journal entries of
// a mariadbd that logs to stderr under systemd and as the syslog lines mysqld_safe --syslog writes
// (each line whole, timestamp first). The attacker is 192.0.2.2 and 2001:db8::2; every user name it
// sent held 203.0.113.9 or 2001:db8::9; 192.0.2.3 logged in correctly. forged.log is what MariaDB wrote
// for two user names with newlines in them: lines of the client's, which no filter can tell from
// MariaDB's own.
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../../src/core/filter.js';
import { builtinSpec } from '../../../src/core/filters/builtin.js';
import { mysqldAuthFilter } from '../../../src/core/filters/mysqld-auth.js';
import { parseNativeLine } from '../../../src/core/log-line.js';
import { fixture, fixtureLines, scanWith, syslogForms } from '../../helpers/filter-fixtures.js';
import { asSyslog } from '../../helpers/syslog-forms.js';

const NOW = Date.UTC(2026, 11, 4);
// 4 plain failures and 12 with an injected name, one line each; the IPv6 one once.
const FOUND = { '192.0.2.2': 15, '2001:db8::2': 1 };

describe('mysqld-auth filter over MariaDB 10.11', () => {
  it("finds the attacker in MariaDB's error log, never an injected address", async () => {
    const result = await scanWith('mysqld-auth', [fixture('mysqld-auth', 'error.log')]);
    expect(result.addresses).toEqual(FOUND);
    // One line has no timestamp (the "Version: ..." banner): never matched.
    expect(result.stats).toEqual({ lines: 37, matched: 16, ignored: 0, missed: 20, ambiguous: 0, unparsed: 1, tooLong: 0 });
  });

  it('finds the same in those lines as journal entries (mariadbd) and syslog lines (mysqld), timestamp and all', async () => {
    let timeMs = NOW - 3_600_000;
    const messages = fixtureLines('mysqld-auth', 'error.log').map((line) => {
      timeMs = parseNativeLine(line, NOW)?.timeMs ?? timeMs;
      return asSyslog(line, 'mariadbd', { timeMs, pid: 4242, facility: 3 });
    });
    const journal = syslogForms(messages).journal;
    const syslog = syslogForms(messages.map((message) => ({ ...message, identifier: 'mysqld' }))).syslog;
    for (const file of [journal, syslog]) {
      const result = await scanWith('mysqld-auth', [file]);
      expect(result.addresses).toEqual(FOUND);
      expect(result.stats).toMatchObject({ lines: 37, matched: 16, missed: 21, ambiguous: 0, unparsed: 0 });
    }
  });

  it('counts the lines a client forged with newlines in its user name, and not its own attempts: MariaDB writes them as they came', async () => {
    const lines = fixtureLines('mysqld-auth', 'forged.log');
    expect(lines.filter((line) => line.includes("Access denied for user 'x"))).toHaveLength(2);
    const result = await scanWith('mysqld-auth', [fixture('mysqld-auth', 'forged.log')]);
    expect(result.addresses).toEqual({ '203.0.113.9': 1, '2001:db8::9': 1 });
  });

  it('never takes an address from a name that copies the line', () => {
    const filter = compileFilter(builtinSpec(mysqldAuthFilter));
    const match = (message: string) => {
      const result = matchMessage(filter, undefined, message);
      return result.kind === 'match' ? result.address.text : result.kind;
    };
    expect(match("5 [Warning] Access denied for user 'x'@'203.0.113.9' (using password: YES)'@'198.51.100.7' (using password: YES)")).toBe('198.51.100.7');
    expect(match("5 [Warning] Access denied for user 'x'@'2001:db8::9'@'198.51.100.7'")).toBe('198.51.100.7');
    expect(match("5 [Warning] Access denied for user 'x'@'198.51.100.7' (using password: YES) x")).toBe('none');
    expect(match("5 [Warning] Aborted connection 5 to db: 'unconnected' user: 'unauthenticated' host: '198.51.100.7' (This connection closed normally)")).toBe(
      'none',
    );
  });
});
