// The postfix-sasl filter over what postfix 3.7 really wrote (fixtures/logs/postfix-sasl/, captured by
// test/kernel/filters/postfix-sasl.test.ts): its maillog_file, the same lines as journald's entries and
// rsyslog's lines, and what postfix really sent to syslog. The attacker is 192.0.2.2 and 2001:db8::2;
// every user name it sent held 203.0.113.9 or 2001:db8::9; 192.0.2.3 logged in correctly.
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../../src/core/filter.js';
import { builtinSpec } from '../../../src/core/filters/builtin.js';
import { postfixSaslFilter } from '../../../src/core/filters/postfix-sasl.js';
import { parseSyslogLine } from '../../../src/core/log-line.js';
import { fixture, fixtureLines, scanWith, syslogForms } from '../../helpers/filter-fixtures.js';
import { asSyslog } from '../../helpers/syslog-forms.js';

const NOW = Date.UTC(2026, 11, 4);
// 4 plain failures and 13 with an injected name, one line each; the IPv6 one once.
const FOUND = { '192.0.2.2': 16, '2001:db8::2': 1 };

describe('postfix-sasl filter over postfix 3.7', () => {
  it("finds the attacker in postfix's maillog_file, one match per failed AUTH, never an injected address", async () => {
    const result = await scanWith('postfix-sasl', [fixture('postfix-sasl', 'mail.log')]);
    expect(result.addresses).toEqual(FOUND);
    expect(result.stats).toEqual({ lines: 64, matched: 17, ignored: 0, missed: 47, ambiguous: 0, unparsed: 0, tooLong: 0 });
  });

  it('finds the same in those lines as journal entries (postfix/smtpd) and as rsyslog lines', async () => {
    const messages = fixtureLines('postfix-sasl', 'mail.log').map((line) => {
      const record = parseSyslogLine(line, NOW);
      if (!record?.program || record.timeMs === undefined) throw new Error(`not a line of postfix's: ${line}`);
      return asSyslog(record.message, record.program, { timeMs: record.timeMs, ...(record.pid === undefined ? {} : { pid: record.pid }) });
    });
    const forms = syslogForms(messages);
    for (const file of [forms.journal, forms.syslog]) {
      const result = await scanWith('postfix-sasl', [file]);
      expect(result.addresses).toEqual(FOUND);
      expect(result.stats).toMatchObject({ lines: 64, matched: 17, ambiguous: 0, unparsed: 0 });
    }
  });

  it('finds the attacker in what postfix really sent to syslog, as rsyslog and journald keep it', async () => {
    for (const name of ['syslog.log', 'journal.json']) {
      const result = await scanWith('postfix-sasl', [fixture('postfix-sasl', name)]);
      expect(result.addresses, name).toEqual({ '192.0.2.2': 5, '2001:db8::2': 1 });
      expect(result.stats, name).toEqual({ lines: 36, matched: 6, ignored: 0, missed: 30, ambiguous: 0, unparsed: 0, tooLong: 0 });
    }
  });

  it("counts nothing of dovecot's lines for the same attempts (another program's)", async () => {
    expect((await scanWith('postfix-sasl', [fixture('postfix-sasl', 'dovecot.log')])).addresses).toEqual({});
  });

  // Forms these tests could not produce: Cyrus SASL's reason (the challenge it sent, base64), other
  // mechanisms, a verified host name, and the SASL server gone (postfix's smtpd_sasl_glue.c).
  it('reads the forms of other SASL servers and refuses none of its own words as an address', () => {
    const filter = compileFilter(builtinSpec(postfixSaslFilter));
    const match = (message: string, program = 'postfix/smtpd') => {
      const result = matchMessage(filter, program, message);
      return result.kind === 'match' ? result.address.text : result.kind;
    };
    expect(match('warning: unknown[198.51.100.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6')).toBe('198.51.100.7');
    expect(match('warning: mail.example.org[2001:db8:1::7]: SASL CRAM-MD5 authentication failed: authentication failure')).toBe('2001:db8:1::7');
    expect(match('warning: unknown[198.51.100.7]: SASL PLAIN authentication failed: authentication failure, sasl_username=x', 'postfix/submission/smtpd')).toBe(
      '198.51.100.7',
    );
    expect(match('warning: unknown[198.51.100.7]: SASL PLAIN authentication failed: Connection lost to authentication server')).toBe('ignored');
    expect(match('warning: unknown[198.51.100.7]: SASL PLAIN authentication failed: Connection lost to authentication server, sasl_username=a')).toBe(
      'ignored',
    );
    // A name after the address holds anything: the address is the one after the first '['.
    expect(match('warning: unknown[198.51.100.7]: SASL PLAIN authentication failed: x, sasl_username=a]: x [203.0.113.9]')).toBe('198.51.100.7');
    expect(match('warning: unknown[198.51.100.7]: SASL PLAIN authentication failed: (reason unavailable)', 'postfix/cleanup')).toBe('none');
  });
});
