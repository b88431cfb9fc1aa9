import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../src/core/filter.js';
import { checkPatternSafety } from '../../src/core/filter-safety.js';

const check = (pattern: string, options: Parameters<typeof checkPatternSafety>[2]) => () => checkPatternSafety(pattern, 'filters.app.patterns[0]', options);

describe('pinned from the start (client_text = "after-address")', () => {
  it.each([
    String.raw`Received disconnect from <ADDR> port \d+:3: .*Auth fail \[preauth\]`,
    String.raw`\[auth_basic:error\] \[pid \d+(?::tid \d+)?\] \[client <ADDR>:\d+\] AH01618: user .* not found: .*`,
    String.raw`<ADDR> - .* "GET /wp-login\.php HTTP/1\.[01]" 404 .*`,
    String.raw`\[error\] \d+#\d+: \*\d+ limiting requests, excess: \d+\.\d+ by zone "[A-Za-z0-9_-]+", client: <ADDR>, .*`,
  ])('accepts %s: the text before the address is fixed fields', (pattern) => {
    expect(check(pattern, { clientText: 'after-address' })).not.toThrow();
  });

  it.each([
    [String.raw`.*client: <ADDR>, .*`, 'repeats a space, a "." or a ":"'],
    [String.raw`[^,] client: <ADDR>, .*`, 'matches a space and other characters too'],
    [String.raw`\S+ client: <ADDR>, .*`, 'repeats a space, a "." or a ":"'],
    [String.raw`excess: [\d.]+ by zone \w+, client: <ADDR>, .*`, 'repeats a space, a "." or a ":"'],
    [String.raw`(?:\w+ )+client: <ADDR>.*`, 'repeats a space, a "." or a ":"'],
  ])('refuses %s: it could step over the address to one a client wrote after it', (pattern, why) => {
    expect(check(pattern, { clientText: 'after-address' })).toThrow(why);
  });

  it('captures the address the program wrote, whatever the client wrote after it', () => {
    const filter = compileFilter({
      name: 'app',
      programs: [],
      patterns: [String.raw`\[client <ADDR>:\d+\] AH01618: user .* not found: .*`],
      ignore: [],
      clientText: 'after-address',
    });
    const message = '[client 192.0.2.2:5555] AH01618: user x [client 203.0.113.9:1] AH01618: user y not found: /a not found: /[client 203.0.113.9:2]';
    expect(matchMessage(filter, undefined, message)).toMatchObject({ kind: 'match', address: { text: '192.0.2.2' } });
  });
});

describe('pinned by a delimiter the client cannot write before the address', () => {
  const nginx = String.raw`\[error\] \d+#\d+: \*\d+ user "[^:]*": password mismatch, client: <ADDR>, server: .*`;

  it('accepts a pattern with a fixed number of delimiters before <ADDR>, the last followed by fixed text', () => {
    expect(check(nginx, { clientText: 'anywhere', delimiter: ':' })).not.toThrow();
  });

  it.each([
    [String.raw`\[error\] \d+#\d+: \*\d+ user ".*": password mismatch, client: <ADDR>, .*`, 'matches ":" and other characters too'],
    [String.raw`\[error\] \d+#\d+: \*\d+ user "[^:]*"(?:: password mismatch)?, client: <ADDR>, .*`, 'varying number of ":"'],
    [String.raw`(?:\w+: )+client: <ADDR>, .*`, 'varying number of ":"'],
    [String.raw`user [^:]* client <ADDR>, .*`, 'holds no ":"'],
    [String.raw`x: user [^:]* client <ADDR>, .*`, 'is not fixed text'],
  ])('refuses %s', (pattern, why) => {
    expect(check(pattern, { clientText: 'anywhere', delimiter: ':' })).toThrow(why);
  });

  it('captures the address after the third ":" even when the user name and the request carry another', () => {
    const filter = compileFilter({ name: 'web', programs: [], patterns: [nginx], ignore: [], delimiter: ':' });
    const message =
      '[error] 1#1: *5 user "x", client 203.0.113.9, server y": password mismatch, client: 192.0.2.2, server: s, request: "GET /?a: password mismatch, client: 203.0.113.9, server: z HTTP/1.1", host: "h"';
    expect(matchMessage(filter, undefined, message)).toMatchObject({ kind: 'match', address: { text: '192.0.2.2' } });
  });
});
