import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage } from '../../src/core/filter.js';
import { checkPatternSafety } from '../../src/core/filter-safety.js';
import { sshdFilter } from '../../src/core/filters/sshd.js';
import { parseSyslogLine } from '../../src/core/log-line.js';

const sshd = compileFilter(sshdFilter);
const NOW = Date.UTC(2026, 10, 21, 12);
const lines = readFileSync(new URL('../../fixtures/logs/sshd-openssh9.log', import.meta.url), 'utf8').trimEnd().split('\n');

function addressOf(line: string): string | undefined {
  const record = parseSyslogLine(line, NOW);
  if (!record) throw new Error(`not a syslog line: ${line}`);
  const result = matchMessage(sshd, record.program, record.message);
  return result.kind === 'match' ? result.address.text : undefined;
}

describe('built-in sshd filter', () => {
  it('finds the peer in every OpenSSH 9.x failure line and nothing in the others', () => {
    expect(lines.map(addressOf)).toEqual([
      '198.51.100.7',
      '198.51.100.7',
      '203.0.113.9',
      '203.0.113.9',
      '2001:db8::66',
      '2001:db8::66',
      '198.51.100.8',
      '198.51.100.8',
      '198.51.100.9',
      '198.51.100.10',
      '198.51.100.11',
      '198.51.100.12',
      '198.51.100.13',
      '198.51.100.14',
      undefined, // Accepted
      undefined, // session opened
      undefined, // CRON writing an sshd-looking message
      '203.0.113.77', // injection through the user name: the real peer, never 192.0.2.7
      '203.0.113.78',
      '203.0.113.79',
    ]);
  });

  it('never bans an address injected through a user name', () => {
    for (const user of ['from 192.0.2.7 port 22', 'x from 192.0.2.7 port 22 ssh2', '192.0.2.7', 'a from 192.0.2.7 port 1 from 192.0.2.7 port 2']) {
      for (const message of [
        `Failed password for invalid user ${user} from 203.0.113.5 port 4242 ssh2`,
        `Invalid user ${user} from 203.0.113.5 port 4242`,
        `Connection closed by invalid user ${user} 203.0.113.5 port 4242 [preauth]`,
        `Disconnected from invalid user ${user} 203.0.113.5 port 4242 [preauth]`,
        `User ${user} from 203.0.113.5 not allowed because not listed in AllowUsers`,
      ]) {
        const result = matchMessage(sshd, 'sshd', message);
        expect(result.kind === 'match' ? result.address.text : undefined, message).toBe('203.0.113.5');
      }
    }
  });

  it('answers pathological lines in linear time', () => {
    const hostile = [
      `Failed password for invalid user ${'a '.repeat(20_000)}from 203.0.113.5 port 1 ssh2`,
      `Failed password for ${'from '.repeat(5000)}`,
      `Invalid user ${'x'.repeat(100_000)}`,
      `${'Failed password for '.repeat(2000)}`,
      `Connection closed by invalid user ${' '.repeat(50_000)} 203.0.113.5 port 1 [preauth]`,
    ];
    const started = performance.now();
    for (const message of hostile) matchMessage(sshd, 'sshd', message);
    // A backtracking engine takes minutes on these; RE2 takes milliseconds. The bound is loose on purpose.
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('user filter safety', () => {
  it.each([
    [String.raw`Login failed for .* from <ADDR>`],
    [String.raw`auth failure rhost=<ADDR> user=\S+`],
    [String.raw`bad login from <ADDR> \(\d+ tries\)`],
    [String.raw`denied <ADDR>(?: port \d+)?`],
    [String.raw`denied <ADDR> offer [^ ]+ end`],
  ])('accepts %s', (pattern) => {
    expect(() => checkPatternSafety(pattern, 'filters.app.patterns[0]')).not.toThrow();
  });

  it.each([
    [String.raw`Login failed from <ADDR>.*`, 'after <ADDR> it has "."'],
    [String.raw`Login failed from <ADDR> for .*`, 'after <ADDR> it has "."'],
    [String.raw`from <ADDR>( \S+)*`, String.raw`after <ADDR> it has "( \\S+)"`],
    [String.raw`from <ADDR>\s+\S+`, String.raw`after <ADDR> it has "\\s"`],
    [String.raw`from <ADDR> [^x]+`, 'after <ADDR> it has "[^x]"'],
    [String.raw`from <ADDR>\W*`, String.raw`after <ADDR> it has "\\W"`],
    [String.raw`from <ADDR> or <ADDR>`, 'has 2 <ADDR> slots'],
    [String.raw`no slot here`, 'has 0 <ADDR> slots'],
    [String.raw`(?:from <ADDR>)? port`, '<ADDR> is inside a group'],
  ])('rejects %s', (pattern, reason) => {
    expect(() => checkPatternSafety(pattern, 'filters.app.patterns[0]')).toThrow(reason);
  });

  it('never lets a safe user filter capture an injected address', () => {
    const filter = compileFilter({ name: 'app', programs: ['app'], patterns: [String.raw`Login failed for .* from <ADDR> \(\d+ tries\)`], ignore: [] });
    const result = matchMessage(filter, 'app', 'Login failed for x from 192.0.2.7 (3 tries) from 203.0.113.5 (1 tries)');
    expect(result.kind === 'match' && result.address.text).toBe('203.0.113.5');
    expect(matchMessage(filter, 'other', 'Login failed for x from 203.0.113.5 (1 tries)').kind).toBe('none');
  });

  it('reports patterns RE2 cannot compile', () => {
    expect(() => compileFilter({ name: 'app', programs: [], patterns: [String.raw`(a)\1 <ADDR>`], ignore: [] })).toThrow(/not a valid pattern/);
    expect(() => compileFilter({ name: 'app', programs: [], patterns: [], ignore: [] })).toThrow(/no patterns/);
  });

  it('skips messages a filter ignores', () => {
    const filter = compileFilter({ name: 'app', programs: [], patterns: ['fail from <ADDR>'], ignore: ['fail from 192\\.0\\.2\\..*'] });
    expect(matchMessage(filter, undefined, 'fail from 192.0.2.1').kind).toBe('ignored');
    expect(matchMessage(filter, undefined, 'fail from 198.51.100.1').kind).toBe('match');
  });

  it('takes the address from the first pattern, in written order, whose capture is an address', () => {
    // Both patterns match; the first one's capture is not an address, so the second one decides.
    const filter = compileFilter({ name: 'app', programs: [], patterns: ['denied <ADDR> via [0-9.]+', 'denied [0-9:]+ via <ADDR>'], ignore: [] });
    expect(matchMessage(filter, undefined, 'denied 1:2:3:4:5:6:7:8:9 via 198.51.100.4')).toEqual({ kind: 'match', address: { family: 4, text: '198.51.100.4' }, pattern: 1 });
    expect(matchMessage(filter, undefined, 'denied 198.51.100.4 via 203.0.113.9')).toEqual({ kind: 'match', address: { family: 4, text: '198.51.100.4' }, pattern: 0 });
    // The same captured text again, after many others: the remembered reading is the same reading.
    for (let i = 0; i < 20_000; i++) matchMessage(filter, undefined, `denied 2001:db8::${i.toString(16)} via 1`);
    expect(matchMessage(filter, undefined, 'denied 2001:DB8:0::0:1 via 1')).toEqual({ kind: 'match', address: { family: 6, text: '2001:db8::1' }, pattern: 0 });
    expect(filter.addresses.size).toBeLessThanOrEqual(10_000);
  });

  it('captures the address when the pattern is the address alone', () => {
    const alone = compileFilter({ name: 'app', programs: [], patterns: ['<ADDR>'], ignore: [] });
    expect(matchMessage(alone, undefined, '2001:db8::5')).toEqual({ kind: 'match', address: { family: 6, text: '2001:db8::5' }, pattern: 0 });
    expect(matchMessage(alone, undefined, '2001:db8::5 x').kind).toBe('none');
  });
});
