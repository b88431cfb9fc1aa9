// The vsftpd filter over what vsftpd 3.0.3 really wrote (fixtures/logs/vsftpd/, captured by
// test/kernel/filters/vsftpd.test.ts): its vsftpd.log, the same lines as journald's entries and
// rsyslog's lines, and what vsftpd really sent to syslog (syslog_enable). It listened on IPv6, so the
// attacker's IPv4 address 192.0.2.2 is written ::ffff:192.0.2.2 and found as 192.0.2.2; its IPv6 one
// is 2001:db8::2; every user name it sent held 203.0.113.9 or 2001:db8::9; 192.0.2.3 logged in.
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../../src/core/address.js';
import { compileFilter, matchMessage } from '../../../src/core/filter.js';
import { builtinSpec } from '../../../src/core/filters/builtin.js';
import { vsftpdFilter } from '../../../src/core/filters/vsftpd.js';
import { parseNativeLine } from '../../../src/core/log-line.js';
import { fixture, fixtureLines, scanWith, syslogForms } from '../../helpers/filter-fixtures.js';
import { asSyslog } from '../../helpers/syslog-forms.js';

const NOW = Date.UTC(2026, 11, 4);
// 4 plain failures and 13 with an injected name, one line each; the IPv6 one once.
const FOUND = { '192.0.2.2': 16, '2001:db8::2': 1 };

describe('vsftpd filter over vsftpd 3.0.3', () => {
  it('finds the attacker in vsftpd.log, its IPv4 address as plain IPv4, never an injected address', async () => {
    const result = await scanWith('vsftpd', [fixture('vsftpd', 'vsftpd.log')]);
    expect(result.addresses).toEqual(FOUND);
    expect(result.stats).toEqual({ lines: 36, matched: 17, ignored: 0, missed: 19, ambiguous: 0, unparsed: 0, tooLong: 0 });
  });

  it('reads ::ffff:a.b.c.d as the IPv4 address it maps (parseAddress), and ::a.b.c.d as IPv6', () => {
    expect(parseAddress('::ffff:192.0.2.2')).toEqual({ family: 4, text: '192.0.2.2' });
    expect(parseAddress('::FFFF:192.0.2.2')).toEqual({ family: 4, text: '192.0.2.2' });
    expect(parseAddress('::ffff:c000:202')).toEqual({ family: 4, text: '192.0.2.2' });
    expect(parseAddress('::192.0.2.2')).toEqual({ family: 6, text: '::c000:202' });
  });

  it('finds the same in those lines as journal entries and rsyslog lines, where vsftpd[PID] replaces "[pid N] "', async () => {
    const messages = fixtureLines('vsftpd', 'vsftpd.log').map((line) => {
      const record = parseNativeLine(line, NOW);
      const m = /^\[pid (\d+)\] ([\s\S]*)$/.exec(record?.message ?? '');
      if (!record || record.timeMs === undefined || !m) throw new Error(`not a line of vsftpd's: ${line}`);
      return asSyslog(m[2] ?? '', 'vsftpd', { timeMs: record.timeMs, pid: Number(m[1]), facility: 3 });
    });
    const forms = syslogForms(messages);
    for (const file of [forms.journal, forms.syslog]) {
      const result = await scanWith('vsftpd', [file]);
      expect(result.addresses).toEqual(FOUND);
      expect(result.stats).toMatchObject({ lines: 36, matched: 17, ambiguous: 0, unparsed: 0 });
    }
  });

  it('finds the attacker in what vsftpd really sent to syslog, as rsyslog and journald keep it', async () => {
    for (const name of ['syslog.log', 'journal.json']) {
      const result = await scanWith('vsftpd', [fixture('vsftpd', name)]);
      expect(result.addresses, name).toEqual({ '192.0.2.2': 5, '2001:db8::2': 1 });
      expect(result.stats, name).toEqual({ lines: 14, matched: 6, ignored: 0, missed: 8, ambiguous: 0, unparsed: 0, tooLong: 0 });
    }
  });

  it('never takes an address from a name that copies the line, and counts no good login', () => {
    const filter = compileFilter(builtinSpec(vsftpdFilter));
    const match = (message: string) => {
      const result = matchMessage(filter, undefined, message);
      return result.kind === 'match' ? result.address.text : result.kind;
    };
    expect(match('[pid 7] [x] FAIL LOGIN: Client "203.0.113.9"] FAIL LOGIN: Client "::ffff:198.51.100.7"')).toBe('198.51.100.7');
    expect(match('[pid 7] [x] FAIL LOGIN: Client "203.0.113.9] FAIL LOGIN: Client "2001:db8:1::7"')).toBe('2001:db8:1::7');
    expect(match('[pid 7] [alice] OK LOGIN: Client "::ffff:198.51.100.7"')).toBe('none');
    expect(match('[pid 7] CONNECT: Client "::ffff:198.51.100.7"')).toBe('none');
    // Anonymous logins refused: the same line, vsftpd's own name for the user.
    expect(match('[pid 7] [ftp] FAIL LOGIN: Client "198.51.100.7"')).toBe('198.51.100.7');
  });
});
