// The dovecot filter over what dovecot 2.3.19 really wrote (fixtures/logs/dovecot/, captured by
// test/kernel/filters/dovecot.test.ts): its log_path file, the same lines as journald's entries and
// rsyslog's lines, and what dovecot really sent to syslog; also its auth process's lines for postfix's
// SASL requests (fixtures/logs/postfix-sasl/dovecot.log). The attacker is 192.0.2.2 and 2001:db8::2;
// every user name it sent held 203.0.113.9 or 2001:db8::9; 192.0.2.3 logged in correctly.
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../../src/core/filter.js';
import { builtinSpec } from '../../../src/core/filters/builtin.js';
import { dovecotFilter } from '../../../src/core/filters/dovecot.js';
import { parseNativeLine } from '../../../src/core/log-line.js';
import { fixture, fixtureLines, scanWith, syslogForms } from '../../helpers/filter-fixtures.js';
import { asSyslog } from '../../helpers/syslog-forms.js';

const NOW = Date.UTC(2026, 11, 4);
// 17 failed connections (16 over IPv4), each with its login line (mode normal counts those), and with
// auth_verbose a line from each passdb that refused the name (passwd-file, then PAM; mode aggressive
// counts those too).
const FOUND = { '192.0.2.2': 16, '2001:db8::2': 1 };
const FOUND_AGGRESSIVE = { '192.0.2.2': 48, '2001:db8::2': 3 };

describe('dovecot filter over dovecot 2.3.19', () => {
  it("finds the attacker in dovecot's log_path file, never an injected address", async () => {
    const result = await scanWith('dovecot', [fixture('dovecot', 'dovecot.log')]);
    expect(result.addresses).toEqual(FOUND);
    expect(result.stats).toEqual({ lines: 55, matched: 17, ignored: 0, missed: 38, ambiguous: 0, unparsed: 0, tooLong: 0 });
    const aggressive = await scanWith('dovecot', [fixture('dovecot', 'dovecot.log')], 'auto', 'aggressive');
    expect(aggressive.addresses).toEqual(FOUND_AGGRESSIVE);
    expect(aggressive.stats).toEqual({ lines: 55, matched: 51, ignored: 0, missed: 4, ambiguous: 0, unparsed: 0, tooLong: 0 });
  });

  it('finds the same in those lines as journal entries (dovecot) and as rsyslog lines, where dovecot writes no level', async () => {
    const messages = fixtureLines('dovecot', 'dovecot.log').map((line) => {
      const record = parseNativeLine(line, NOW);
      if (!record || record.timeMs === undefined) throw new Error(`not a line of dovecot's: ${line}`);
      // What dovecot's log process sends to syslog: the process's prefix, without the level.
      const message = record.message.replace(/^([^:]+): (?:Info|Warning|Error|Fatal|Panic|Debug): /, '$1: ');
      return asSyslog(message, 'dovecot', { timeMs: record.timeMs, facility: 2 });
    });
    const forms = syslogForms(messages);
    for (const file of [forms.journal, forms.syslog]) {
      const result = await scanWith('dovecot', [file], 'auto', 'aggressive');
      expect(result.addresses).toEqual(FOUND_AGGRESSIVE);
      expect(result.stats).toMatchObject({ lines: 55, matched: 51, ambiguous: 0, unparsed: 0 });
      expect((await scanWith('dovecot', [file])).addresses).toEqual(FOUND);
    }
  });

  it('finds the attacker in what dovecot really sent to syslog, as rsyslog and journald keep it', async () => {
    for (const name of ['syslog.log', 'journal.json']) {
      const result = await scanWith('dovecot', [fixture('dovecot', name)], 'auto', 'aggressive');
      expect(result.addresses, name).toEqual({ '192.0.2.2': 11, '2001:db8::2': 3 });
      expect(result.stats, name).toEqual({ lines: 27, matched: 14, ignored: 0, missed: 13, ambiguous: 0, unparsed: 0, tooLong: 0 });
      expect((await scanWith('dovecot', [fixture('dovecot', name)])).addresses, name).toEqual({ '192.0.2.2': 5, '2001:db8::2': 1 });
    }
  });

  it("counts the auth process's refusals of postfix's SASL requests (no session id) in mode aggressive only", async () => {
    expect((await scanWith('dovecot', [fixture('postfix-sasl', 'dovecot.log')])).addresses).toEqual({});
    const result = await scanWith('dovecot', [fixture('postfix-sasl', 'dovecot.log')], 'auto', 'aggressive');
    expect(result.addresses).toEqual({ '192.0.2.2': 6, '2001:db8::2': 2 });
    expect(result.stats).toMatchObject({ lines: 22, matched: 8, ambiguous: 0, unparsed: 0 });
  });

  // Forms these tests could not produce, from dovecot's sources (login-common/client-common.c,
  // auth/passdb-pam.c): TLS connections, the other login services, a name refused before a passdb.
  it('reads the forms of other services and never takes an address from a name', () => {
    const filter = compileFilter(builtinSpec(dovecotFilter, 'aggressive'));
    const match = (message: string, program?: string) => {
      const result = matchMessage(filter, program, message);
      return result.kind === 'match' ? result.address.text : result.kind;
    };
    expect(
      match(
        'submission-login: Disconnected (auth failed, 3 attempts in 12 secs): user=<a@example.org>, method=PLAIN, rip=198.51.100.7, lip=192.0.2.1, TLS, session=<AbC+/1>',
        'dovecot',
      ),
    ).toBe('198.51.100.7');
    expect(
      match('managesieve-login: Info: Aborted login (tried to use disallowed plaintext auth): user=<>, rip=2001:db8:1::7, lip=2001:db8::1, session=<AbC>'),
    ).toBe('2001:db8:1::7');
    expect(
      match('auth-worker(9): pam(a,198.51.100.7,<AbC>): pam_authenticate() failed: User not known to the underlying authentication module', 'dovecot'),
    ).toBe('198.51.100.7');
    expect(match('auth: sql(a@example.org,198.51.100.7,<AbC>): Password mismatch', 'dovecot')).toBe('198.51.100.7');
    // Not a failure of the client's password, and the name is after the address: not counted.
    expect(
      match('auth: plain(?,198.51.100.7,<AbC>): Username character disallowed by auth_username_chars: 0x20 (username: x rip=203.0.113.9)', 'dovecot'),
    ).toBe('none');
    expect(match('imap-login: Login: user=<alice>, method=PLAIN, rip=198.51.100.7, lip=192.0.2.1, mpid=1, session=<AbC>', 'dovecot')).toBe('none');
    // A name that copies dovecot's fields: the address is the last rip.
    expect(
      match(
        'imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<x>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, session=<a>>, method=PLAIN, rip=198.51.100.7, lip=192.0.2.1, session=<AbC>',
        'dovecot',
      ),
    ).toBe('198.51.100.7');
    expect(match('auth: passwd-file(x,203.0.113.9,<a>): unknown user,198.51.100.7,<AbC>): unknown user', 'dovecot')).toBe('198.51.100.7');
    expect(
      match(
        'imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<bob>, method=PLAIN, rip=198.51.100.7, lip=192.0.2.1, session=<AbC>',
        'postfix/smtpd',
      ),
    ).toBe('none');
  });
});
