// The nginx-limit-req filter over what nginx 1.22.1 really wrote (fixtures/logs/nginx-limit-req/,
// captured by test/kernel/filters/nginx-limit-req.test.ts, see fixtures/logs/web.md): its error.log at
// level warn, what it really sent to syslog as rsyslog and journald keep it, and the error.log's lines
// wrapped the same way. The attacker's refused requests held 203.0.113.9 and 2001:db8::9 in the Host
// header, the path, the User-Agent and the Referer; 192.0.2.4 was only delayed, 192.0.2.5 went over a
// limit in dry-run mode, 192.0.2.3 stayed under it.
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../../src/core/filter.js';
import { builtinSpec } from '../../../src/core/filters/builtin.js';
import { nginxLimitReqFilter } from '../../../src/core/filters/nginx-limit-req.js';
import { parseNativeLine } from '../../../src/core/log-line.js';
import { fixture, fixtureLines, scanWith, syslogForms } from '../../helpers/filter-fixtures.js';
import { asSyslog } from '../../helpers/syslog-forms.js';

const NOW = Date.UTC(2026, 11, 4);
const FOUND = { '192.0.2.2': 5, '2001:db8::2': 2 };

describe('nginx-limit-req filter over nginx 1.22.1', () => {
  it('counts the refused requests, not the delayed ones, not the dry runs, never an address the client wrote', async () => {
    const result = await scanWith('nginx-limit-req', [fixture('nginx-limit-req', 'error.log')]);
    expect(result.addresses).toEqual(FOUND);
    // 7 refusals; 3 "delaying request" ([warn]) and 2 "limiting requests, dry run" lines.
    expect(result.stats).toEqual({ lines: 12, matched: 7, ignored: 0, missed: 5, ambiguous: 0, unparsed: 0, tooLong: 0 });
  });

  it('finds the same in what nginx really sent to syslog, and in the lines wrapped so', async () => {
    const wrapped = fixtureLines('nginx-limit-req', 'error.log').map((line) => {
      const timeMs = parseNativeLine(line, NOW)?.timeMs;
      if (timeMs === undefined) throw new Error(`not a line of nginx's: ${line}`);
      return asSyslog(line, 'nginx', { timeMs, facility: 23, severity: line.includes('[warn]') ? 4 : 3 });
    });
    const forms = syslogForms(wrapped);
    for (const file of [fixture('nginx-limit-req', 'syslog.log'), fixture('nginx-limit-req', 'journal.json'), forms.syslog, forms.journal]) {
      const result = await scanWith('nginx-limit-req', [file]);
      expect(result.addresses, file).toEqual(FOUND);
      expect(result.stats, file).toEqual({ lines: 12, matched: 7, ignored: 0, missed: 5, ambiguous: 0, unparsed: 0, tooLong: 0 });
    }
  });

  it("counts a refusal at any limit_req_log_level, and takes the address after the third ':'", () => {
    const filter = compileFilter(builtinSpec(nginxLimitReqFilter));
    const match = (message: string) => {
      const result = matchMessage(filter, undefined, message);
      return result.kind === 'match' ? result.address.text : result.kind;
    };
    const refusal = (level: string) =>
      `[${level}] 7#7: *4 limiting requests, excess: 2.000 by zone "api", client: 198.51.100.7, server: localhost, request: "GET /api/x, client: 203.0.113.9, server: y HTTP/1.1", host: "203.0.113.9"`;
    for (const level of ['error', 'warn', 'notice', 'info']) expect(match(refusal(level))).toBe('198.51.100.7');
    expect(match('[warn] 7#7: *14 delaying request, excess: 0.983, by zone "slow", client: 198.51.100.7, server: localhost')).toBe('none');
    expect(match('[error] 7#7: *18 limiting requests, dry run, excess: 1.000 by zone "dry", client: 198.51.100.7, server: localhost')).toBe('none');
  });
});
