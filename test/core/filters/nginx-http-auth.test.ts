// The nginx-http-auth filter over what nginx 1.22.1 really wrote (fixtures/logs/nginx-http-auth/,
// captured by test/kernel/filters/nginx-http-auth.test.ts, see fixtures/logs/web.md): its error.log,
// what it really sent to syslog as rsyslog and journald keep it, and the error.log's messages wrapped the
// same way. Every user name, path, Host and Referer of the attacker's held 203.0.113.9 or 2001:db8::9;
// 192.0.2.3 logged in.
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../../src/core/filter.js';
import { builtinSpec } from '../../../src/core/filters/builtin.js';
import { nginxHttpAuthFilter } from '../../../src/core/filters/nginx-http-auth.js';
import { parseNativeLine } from '../../../src/core/log-line.js';
import { fixture, fixtureLines, scanWith, syslogForms } from '../../helpers/filter-fixtures.js';
import { asSyslog } from '../../helpers/syslog-forms.js';

const NOW = Date.UTC(2026, 11, 4);

// The messages of nginx's error.log: a line without nginx's timestamp is the rest of the one before,
// which a newline in a user name broke (nginx sends such a message whole to syslog).
function messages(lines: readonly string[]): { text: string; timeMs: number }[] {
  const found: { text: string; timeMs: number }[] = [];
  for (const line of lines) {
    const record = parseNativeLine(line, NOW);
    const last = found.at(-1);
    if (record?.timeMs !== undefined) found.push({ text: line, timeMs: record.timeMs });
    else if (last) last.text += `\n${line}`;
  }
  return found;
}

describe('nginx-http-auth filter over nginx 1.22.1', () => {
  it("finds the attacker's failures in error.log, never an address the client wrote", async () => {
    const result = await scanWith('nginx-http-auth', [fixture('nginx-http-auth', 'error.log')]);
    expect(result.addresses).toEqual({ '192.0.2.2': 16, '2001:db8::2': 2 });
    // 20 failures in 22 lines: two user names held a newline; the first half of each holds no address,
    // the second has no timestamp and is never read as a line.
    expect(result.stats).toEqual({ lines: 22, matched: 18, ignored: 0, missed: 2, ambiguous: 0, unparsed: 2, tooLong: 0 });
  });

  it('finds every failure in what nginx really sent to syslog, a newline and all, as rsyslog and journald keep it', async () => {
    for (const name of ['syslog.log', 'journal.json']) {
      const result = await scanWith('nginx-http-auth', [fixture('nginx-http-auth', name)]);
      expect(result.addresses, name).toEqual({ '192.0.2.2': 18, '2001:db8::2': 2 });
      expect(result.stats, name).toEqual({ lines: 20, matched: 20, ignored: 0, missed: 0, ambiguous: 0, unparsed: 0, tooLong: 0 });
    }
  });

  it("finds the same in error.log's messages wrapped as nginx sends them (its timestamp kept in the message)", async () => {
    const wrapped = messages(fixtureLines('nginx-http-auth', 'error.log')).map(({ text, timeMs }) =>
      asSyslog(text, 'nginx', { timeMs, facility: 23, severity: 3 }),
    );
    expect(wrapped).toHaveLength(20);
    const forms = syslogForms(wrapped);
    for (const file of [forms.syslog, forms.journal]) {
      const result = await scanWith('nginx-http-auth', [file]);
      expect(result.addresses).toEqual({ '192.0.2.2': 18, '2001:db8::2': 2 });
      expect(result.stats).toMatchObject({ lines: 20, matched: 20, ambiguous: 0, unparsed: 0 });
    }
  });

  it("counts nothing of the access log, and no other program's messages", async () => {
    expect((await scanWith('nginx-http-auth', [fixture('nginx-http-auth', 'access.log')])).stats.matched).toBe(0);
    const filter = compileFilter(builtinSpec(nginxHttpAuthFilter));
    const line = fixtureLines('nginx-http-auth', 'error.log')[0] ?? '';
    expect(matchMessage(filter, 'nginx', line).kind).toBe('match');
    expect(matchMessage(filter, 'sshd', line).kind).toBe('none');
  });

  it("takes the address after nginx's third ':', whatever a user name without one repeats of the line", () => {
    const filter = compileFilter(builtinSpec(nginxHttpAuthFilter));
    const match = (message: string) => {
      const result = matchMessage(filter, undefined, message);
      return result.kind === 'match' ? result.address.text : result.kind;
    };
    const tail = ', server: localhost, request: "GET / HTTP/1.1", host: "x"';
    expect(match(`[error] 7#7: *1 user "x" was not found in "/h", client 203.0.113.9, server y" was not found in "/h", client: 198.51.100.7${tail}`)).toBe(
      '198.51.100.7',
    );
    expect(match(`[error] 7#7: *1 user "x": password mismatch, client: 198.51.100.7${tail}, referrer: "http://r/", client: 203.0.113.9, server: y"`)).toBe(
      '198.51.100.7',
    );
    // A user name can never hold ':' (nginx cuts it there); a line that says so is none of nginx's.
    expect(match(`[error] 7#7: *1 user "x", client: 203.0.113.9, server: y": password mismatch, client: 198.51.100.7${tail}`)).toBe('none');
  });
});
