// The nginx-botsearch filter over what nginx 1.22.1 really wrote (fixtures/logs/nginx-botsearch/,
// captured by test/kernel/filters/nginx-botsearch.test.ts, see fixtures/logs/web.md): its access log in
// the combined format, and the same lines as nginx really sent them to syslog (access_log syslog:...),
// as rsyslog and journald keep them. The attacker's probes held 203.0.113.9, 2001:db8::9 and whole
// forged access-log lines in the Host header, the path, the User-Agent, the Referer and the user;
// 192.0.2.3 asked for pages that exist and for misses that are no probes.
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../../src/core/filter.js';
import { builtinSpec } from '../../../src/core/filters/builtin.js';
import { nginxBotsearchFilter } from '../../../src/core/filters/nginx-botsearch.js';
import { fixture, scanWith } from '../../helpers/filter-fixtures.js';

const FOUND = { '192.0.2.2': 30, '2001:db8::2': 2 };

describe('nginx-botsearch filter over nginx 1.22.1', () => {
  it("counts the attacker's probes answered 404 or 444, never an address the client wrote, never the good client's misses", async () => {
    const result = await scanWith('nginx-botsearch', [fixture('nginx-botsearch', 'access.log')]);
    expect(result.addresses).toEqual(FOUND);
    // Not counted: pages that exist, 404s on paths no scanner is after, a 400 for spaces in the path.
    expect(result.stats).toEqual({ lines: 43, matched: 32, ignored: 0, missed: 11, ambiguous: 0, unparsed: 0, tooLong: 0 });
  });

  it('finds the same in the access log nginx really sent to syslog, as rsyslog and journald keep it', async () => {
    for (const name of ['syslog.log', 'journal.json']) {
      const result = await scanWith('nginx-botsearch', [fixture('nginx-botsearch', name)]);
      expect(result.addresses, name).toEqual(FOUND);
      expect(result.stats, name).toEqual({ lines: 43, matched: 32, ignored: 0, missed: 11, ambiguous: 0, unparsed: 0, tooLong: 0 });
    }
  });

  it("does not read nginx's error.log, where the client's path stands before the address", async () => {
    expect((await scanWith('nginx-botsearch', [fixture('nginx-botsearch', 'error.log')])).stats.matched).toBe(0);
  });

  it('counts a probe by its status and path: 404 and 444 only, at the root or one directory down, any method', () => {
    const filter = compileFilter(builtinSpec(nginxBotsearchFilter));
    const counted = (request: string, status = 404) =>
      matchMessage(filter, undefined, `198.51.100.7 - - [03/Dec/2026:07:12:43 +0000] "${request}" ${status} 153 "-" "curl/7.88.1"`).kind === 'match';
    expect(counted('GET /wp-login.php HTTP/1.1')).toBe(true);
    expect(counted('PROPFIND /.git/HEAD HTTP/1.1')).toBe(true);
    expect(counted('GET /PhpMyAdmin2/ HTTP/2.0')).toBe(true);
    expect(counted('GET /xmlrpc.php HTTP/1.1', 444)).toBe(true);
    expect(counted('GET /wp-login.php HTTP/1.1', 200)).toBe(false);
    expect(counted('GET /wp-login.php HTTP/1.1', 403)).toBe(false);
    expect(counted('GET /a/b/wp-login.php HTTP/1.1')).toBe(false);
    expect(counted('GET /wp-login.php.html HTTP/1.1')).toBe(false);
    expect(counted('GET /envelope HTTP/1.1')).toBe(false);
    expect(counted('GET /.well-known/acme-challenge/x HTTP/1.1')).toBe(false);
  });
});
