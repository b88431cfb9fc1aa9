// The apache-auth filter over what apache 2.4.71 really wrote (fixtures/logs/apache-auth/, captured by
// test/kernel/filters/apache-auth.test.ts, see fixtures/logs/web.md): its error.log in the default
// format, and the same messages as apache sends them to syslog (ErrorLog syslog:..., from apache's
// server/log.c: the timestamp left out, the rest alike; not captured, the tests never write to
// /dev/log), as rsyslog and journald keep them. Every user name, path, realm, Host and Referer of the
// attacker's held 203.0.113.9 or 2001:db8::9; 192.0.2.3 logged in with basic and digest auth.
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../../src/core/filter.js';
import { apacheAuthFilter } from '../../../src/core/filters/apache-auth.js';
import { builtinSpec } from '../../../src/core/filters/builtin.js';
import { parseNativeLine } from '../../../src/core/log-line.js';
import { fixture, fixtureLines, scanWith, syslogForms } from '../../helpers/filter-fixtures.js';
import { asSyslog } from '../../helpers/syslog-forms.js';

const NOW = Date.UTC(2026, 11, 4);
const FOUND = { '192.0.2.2': 24, '2001:db8::2': 2 };

describe('apache-auth filter over apache 2.4.71', () => {
  it("counts every basic, digest and authorization failure of the attacker's, never an address the client wrote", async () => {
    const result = await scanWith('apache-auth', [fixture('apache-auth', 'error.log')]);
    expect(result.addresses).toEqual(FOUND);
    expect(result.stats).toEqual({ lines: 26, matched: 26, ignored: 0, missed: 0, ambiguous: 0, unparsed: 0, tooLong: 0 });
  });

  it('finds the same in those messages as apache2[PID] sends them to syslog, as rsyslog and journald keep them', async () => {
    const wrapped = fixtureLines('apache-auth', 'error.log').map((line) => {
      const record = parseNativeLine(line, NOW);
      const pid = /\[pid (\d+)/.exec(record?.message ?? '')?.[1];
      if (record?.timeMs === undefined || pid === undefined) throw new Error(`not a line of apache's: ${line}`);
      return asSyslog(record.message, 'apache2', { timeMs: record.timeMs, pid: Number(pid), facility: 23, severity: 3 });
    });
    const forms = syslogForms(wrapped);
    for (const file of [forms.syslog, forms.journal]) {
      const result = await scanWith('apache-auth', [file]);
      expect(result.addresses).toEqual(FOUND);
      expect(result.stats).toMatchObject({ lines: 26, matched: 26, ambiguous: 0, unparsed: 0 });
    }
  });

  it('counts nothing of the access log', async () => {
    expect((await scanWith('apache-auth', [fixture('apache-auth', 'access.log')])).stats.matched).toBe(0);
  });

  it('reads the prefork MPM\'s "[pid N]", and the messages not produced, from their strings in the modules', () => {
    const filter = compileFilter(builtinSpec(apacheAuthFilter));
    const match = (module: string, message: string) => {
      const result = matchMessage(filter, undefined, `[${module}:error] [pid 15976] [client 198.51.100.7:49832] ${message}`);
      return result.kind === 'match' ? result.address.text : result.kind;
    };
    for (const message of [
      "AH01791: user `bob' in realm `realm1' denied by provider: /digest/",
      'AH01776: invalid nonce abc received - hash is not 0123',
      'AH01777: invalid nonce abc received - user attempted time travel',
      "AH10560: invalid or missing qop value 'x', RFC 2069 is no longer supported: /digest/",
    ])
      expect(match('auth_digest', message), message).toBe('198.51.100.7');
    expect(match('auth_form', `AH01807: user 'x': authentication failure for "/login": password Mismatch`)).toBe('198.51.100.7');
    expect(match('auth_form', "AH01808: user 'x' not found: /login")).toBe('198.51.100.7');
    // A browser's normal renewal of a digest nonce is no failure.
    expect(match('auth_digest', 'AH01778: user alice: nonce expired (301.00 seconds old - max lifetime 300.00) - sending new nonce')).toBe('none');
    // The address is the one apache wrote in [client ADDR:PORT], whatever follows.
    expect(match('auth_basic', 'AH01618: user x] [client 203.0.113.9:1] AH01618: user y not found: /private/')).toBe('198.51.100.7');
  });
});
