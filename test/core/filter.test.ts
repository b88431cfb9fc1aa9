import { readFileSync } from 'node:fs';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { compileFilter, matchMessage, MAX_MESSAGE_LENGTH } from '../../src/core/filter.js';
import { checkPatternSafety } from '../../src/core/filter-safety.js';
import { builtinSpec } from '../../src/core/filters/builtin.js';
import { sshdFilter as sshdBuiltin } from '../../src/core/filters/sshd.js';

// Every pattern of the sshd filter (its aggressive mode holds them all).
const sshdFilter = builtinSpec(sshdBuiltin, 'aggressive');
import { parseSyslogLine } from '../../src/core/log-line.js';

const sshd = compileFilter(sshdFilter);
const NOW = Date.UTC(2026, 10, 21, 12);
const lines = readFileSync(new URL('../../fixtures/logs/sshd-openssh9.log', import.meta.url), 'utf8')
  .trimEnd()
  .split('\n');

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

  it('matches no message longer than MAX_MESSAGE_LENGTH, so padding cannot cut one after an injected address', () => {
    const head = 'Invalid user x';
    const injected = ' from 192.0.2.7 port 22';
    const user = `x${'a'.repeat(MAX_MESSAGE_LENGTH - head.length - injected.length)}${injected}`;
    const message = `Invalid user ${user} from 203.0.113.5 port 4242`;
    // Cut at the limit, the message would end right after the injected address and its port.
    expect(message.slice(0, MAX_MESSAGE_LENGTH).endsWith(' from 192.0.2.7 port 22')).toBe(true);
    expect(matchMessage(compileFilter(sshdFilter), 'sshd', message.slice(0, MAX_MESSAGE_LENGTH))).toMatchObject({
      kind: 'match',
      address: { text: '192.0.2.7' },
    });
    expect(matchMessage(sshd, 'sshd', message)).toEqual({ kind: 'too-long' });
    // At the limit exactly, a message is matched.
    const fits = `Invalid user ${'u'.repeat(MAX_MESSAGE_LENGTH - 'Invalid user  from 203.0.113.5 port 4242'.length)} from 203.0.113.5 port 4242`;
    expect(fits.length).toBe(MAX_MESSAGE_LENGTH);
    expect(matchMessage(sshd, 'sshd', fits)).toMatchObject({ kind: 'match', address: { text: '203.0.113.5' } });
    // Another program's message stays 'none', whatever its length.
    expect(matchMessage(sshd, 'cron', message)).toEqual({ kind: 'none' });
  });

  it('answers pathological lines in linear time', () => {
    // Just under the limit, so that RE2 reads them.
    const hostile = [
      `Failed password for invalid user ${'a '.repeat(2000)}from 203.0.113.5 port 1 ssh2`,
      `Failed password for ${'from '.repeat(800)}`,
      `Invalid user ${'x'.repeat(4000)}`,
      `${'Failed password for '.repeat(200)}`,
      `Connection closed by invalid user ${' '.repeat(4000)} 203.0.113.5 port 1 [preauth]`,
    ];
    for (const message of hostile) expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    const started = performance.now();
    for (let round = 0; round < 20; round++) for (const message of hostile) matchMessage(sshd, 'sshd', message);
    // A backtracking engine takes minutes on these; RE2 takes milliseconds. The bound is loose on purpose.
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('user filter safety', () => {
  const check = (pattern: string) => () => checkPatternSafety(pattern, 'filters.app.patterns[0]');

  it.each(sshdBuiltin.rules.map((rule) => [rule.pattern, rule.clientText ?? sshdBuiltin.clientText]))('accepts the built-in %s', (pattern, clientText) => {
    expect(() => checkPatternSafety(pattern, 'filters.sshd.patterns[0]', { clientText })).not.toThrow();
  });

  it('holds the text before <ADDR> to the rule when the text after it can carry an address a client typed', () => {
    // pam_unix writes "rhost=ADDR  user=NAME": a leading .* could reach past the real address.
    for (const pattern of [
      String.raw`.*authentication failure;.* rhost=<ADDR>(?:  user=\S*)?`,
      String.raw`.*login failed from=<ADDR>,user=\S+`,
      String.raw`Login failed for .*? from \[<ADDR>\](?: \w+)?(?: \[\S+)?`,
    ]) {
      expect(check(pattern)).toThrow(/before <ADDR> it has .*which can reach past the address/);
      // Said to be a program that writes client text only before the address, the head is free.
      if (!pattern.includes('[')) expect(() => checkPatternSafety(pattern, 'filters.app.patterns[0]', { clientText: 'before-address' })).not.toThrow();
    }
    // Fixed text and space-free fields before <ADDR> are fine either way; so is a free head when nothing after <ADDR> can hold an address.
    expect(check(String.raw`PAM \d+ more authentication failures?; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=<ADDR>(?:  user=\S*)?`)).not.toThrow();
    expect(check(String.raw`Login failed for .* from <ADDR> \(\d+ tries\)`)).not.toThrow();
  });

  it.each([
    [String.raw`Login failed for .* from <ADDR>`],
    [String.raw`Login failed for .* from <ADDR> \(\d+ tries\)`],
    [String.raw`auth failure rhost=<ADDR> user=\S+`],
    [String.raw`bad login from <ADDR> \(\d+ tries\)`],
    [String.raw`denied <ADDR>(?: port \d+)?`],
    [String.raw`denied <ADDR> port \d+: closed`],
    [String.raw`denied <ADDR> key SHA256:\S+ offer [g-z][^ ]*`],
    [String.raw`denied <ADDR> because (?:no|not in list|listed as bad|a b c d e f)`],
    [String.raw`x from <ADDR>(?i) PORT \d+`],
    // A parenthesis written as a class, an escape or quoted text is a character, not a group.
    [String.raw`login [(].* from [(]<ADDR>[)]`],
    [String.raw`login \(.* from \(<ADDR>\)`],
    [String.raw`login \Q(\E.* from <ADDR>`],
    [String.raw`(?:login|auth) (failed) for .* from <ADDR>`],
  ])('accepts %s', (pattern) => {
    expect(check(pattern)).not.toThrow();
  });

  it.each([
    [String.raw`Login failed from <ADDR>.*`, 'after <ADDR> it has ".", which matches a space and other characters too'],
    [String.raw`Login failed from <ADDR> for .*`, 'after <ADDR> it has "."'],
    [String.raw`from <ADDR>( \S+)*`, String.raw`after <ADDR> it has "( \\S+)*", which repeats a space`],
    [String.raw`from <ADDR>\s+\S+`, String.raw`after <ADDR> it has "\\s+", which repeats a space`],
    [String.raw`from <ADDR> [^x]+`, 'after <ADDR> it has "[^x]"'],
    [String.raw`from <ADDR>\W*`, String.raw`after <ADDR> it has "\\W"`],
    [String.raw`from <ADDR> [[:print:]]`, 'after <ADDR> it has "[[:print:]]"'],
    [String.raw`from <ADDR> \S+ \S+`, String.raw`after <ADDR> it has the word "\\S+", which can hold an address`],
    [String.raw`from <ADDR> offer [^ ]+ end`, 'after <ADDR> it has the word "[^ ]+"'],
    [String.raw`from <ADDR> via \d+\.\d+`, String.raw`the word "\\d+\\.\\d+"`],
    [String.raw`from <ADDR>(?: [0-9a-f:]+)?`, 'the word "[0-9a-f:]+"'],
    [String.raw`from <ADDR> or <ADDR>`, 'has 2 <ADDR> slots'],
    [String.raw`no slot here`, 'has 0 <ADDR> slots'],
    [String.raw`(?:from <ADDR>)? port`, '<ADDR> is inside a group'],
    [String.raw`from (<ADDR>)`, '<ADDR> is inside a group'],
    [String.raw`from <ADDR>|to <ADDR>x`, 'has 2 <ADDR> slots'],
    [String.raw`a|from <ADDR>`, '<ADDR> is inside an alternation branch'],
    [String.raw`from [<ADDR>]`, 'is inside a class or \\Q...\\E, so it is not a slot'],
    [String.raw`from <ADDR>(?=x)`, 'cannot be checked: at "(?=x)"'],
    [String.raw`from <ADDR> \u0020`, 'unknown escape "\\\\u"'],
    [String.raw`from <ADDR>+`, 'the slot cannot repeat'],
  ])('rejects %s', (pattern, reason) => {
    expect(check(pattern)).toThrow(reason);
  });

  // Spellings the text scanner let through after <ADDR>: each lets the user name choose the address.
  const bypasses = [
    String.raw`Invalid user \S+ from <ADDR>(?:\x20\S+)*`,
    String.raw`Invalid user \S+ from <ADDR>(?:[[:space:]]\S+)*`,
    String.raw`Invalid user \S+ from <ADDR>(?: \S+){0,1000}`,
    String.raw`Invalid user \S+ from <ADDR>(?:\x{20}\S+)*`,
    String.raw`Invalid user \S+ from <ADDR>(?:\040[^\x20]+)+`,
  ];
  const attack = 'Invalid user x from 192.0.2.7 port 22 ssh2 from 203.0.113.5 port 4242';

  it.each(bypasses.map((pattern) => [pattern]))('refuses %s, which captures an injected address', (pattern) => {
    // What the pattern would do: RE2 takes the injected address.
    const raw = new RE2(`^(?:${pattern.replace('<ADDR>', '(?<addr>[0-9A-Fa-f:.]{2,45})')})$`);
    expect(raw.exec(attack)?.groups?.['addr']).toBe('192.0.2.7');
    expect(() => compileFilter({ name: 'app', programs: [], patterns: [pattern], ignore: [] })).toThrow(/is unsafe: after <ADDR> it has/);
  });

  // One pattern, the space (or "any character") spelled every way: the same verdict each time.
  const spaces = [
    ' ',
    String.raw`\x20`,
    String.raw`\x{20}`,
    String.raw`\040`,
    '[ ]',
    String.raw`[\x20]`,
    '[[:space:]]',
    '[[:blank:]]',
    String.raw`\s`,
    String.raw`\pZ`,
    String.raw`\ `,
    String.raw`\Q \E`,
    String.raw`(?i) `,
  ];
  const anyChars = [
    '.',
    String.raw`[\s\S]`,
    String.raw`[^\n]`,
    String.raw`\p{Any}`,
    '(?s:.)',
    String.raw`[\x00-\x{10FFFF}]`,
    String.raw`[^a]`,
    String.raw`\W`,
    String.raw`\D`,
    String.raw`\PL`,
    '[[:print:]]',
  ];
  it.each(spaces.map((space) => [space]))('judges the space spelled %s as a space', (space) => {
    expect(check(`from <ADDR>${space}port \\d+`)).not.toThrow();
    expect(check(`from <ADDR>(?:${space}[a-z]+)?${space}port`)).not.toThrow();
    expect(check(`from <ADDR>(?:${space}[a-z]+)*`)).toThrow('which repeats a space');
    expect(check(`from <ADDR>(?:${space}[a-z]+){2}`)).toThrow('which repeats a space');
    expect(check(`from <ADDR>${space}[0-9.]+`)).toThrow('can hold an address');
  });
  it.each(anyChars.map((any) => [any]))('judges %s as any character', (any) => {
    expect(check(`from <ADDR> port ${any}`)).toThrow('which matches a space and other characters too');
    expect(check(`from <ADDR>(?: ${any})?`)).toThrow('which matches a space and other characters too');
    // Before <ADDR> it is fine.
    expect(check(`for ${any}${any === '.' ? '*' : ''} from <ADDR> port \\d+`)).not.toThrow();
  });

  it('makes the attack on a refused pattern impossible to build, and the built-ins keep the real peer', () => {
    for (const pattern of bypasses) expect(() => compileFilter({ name: 'app', programs: ['sshd'], patterns: [pattern], ignore: [] })).toThrow();
    const users = [
      'x from 192.0.2.7 port 22 ssh2',
      'x from 192.0.2.7 port 22',
      'x 192.0.2.7 port 22 [preauth]',
      `x from 192.0.2.7 port 22${' ssh2'.repeat(50)}`,
    ];
    for (const user of users) {
      expect(addressOf(`Nov 21 12:00:00 host sshd[1]: Invalid user ${user} from 203.0.113.5 port 4242`)).toBe('203.0.113.5');
      expect(addressOf(`Nov 21 12:00:00 host sshd[1]: Failed password for invalid user ${user} from 203.0.113.5 port 4242 ssh2`)).toBe('203.0.113.5');
      expect(addressOf(`Nov 21 12:00:00 host sshd[1]: Connection closed by invalid user ${user} 203.0.113.5 port 4242 [preauth]`)).toBe('203.0.113.5');
    }
    // The client's offer comes after the address and cannot be one; an offer of addresses is not matched.
    expect(
      addressOf(
        'Nov 21 12:00:00 host sshd[1]: Unable to negotiate with 203.0.113.5 port 4242: no matching cipher found. Their offer: 3des-cbc,aes128-cbc [preauth]',
      ),
    ).toBe('203.0.113.5');
    expect(
      addressOf(
        'Nov 21 12:00:00 host sshd[1]: Unable to negotiate with 203.0.113.5 port 4242: no matching host key type found. Their offer: ssh-rsa [preauth]',
      ),
    ).toBe('203.0.113.5');
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
    const filter = compileFilter({ name: 'app', programs: [], patterns: ['denied <ADDR> via #[0-9.]+', 'denied [0-9:]+ via #<ADDR>'], ignore: [] });
    expect(matchMessage(filter, undefined, 'denied 1:2:3:4:5:6:7:8:9 via #198.51.100.4')).toEqual({
      kind: 'match',
      address: { family: 4, text: '198.51.100.4' },
      pattern: 1,
    });
    expect(matchMessage(filter, undefined, 'denied 198.51.100.4 via #203.0.113.9')).toEqual({
      kind: 'match',
      address: { family: 4, text: '198.51.100.4' },
      pattern: 0,
    });
    // The same captured text again, after many others: the remembered reading is the same reading.
    for (let i = 0; i < 20_000; i++) matchMessage(filter, undefined, `denied 2001:db8::${i.toString(16)} via #1`);
    expect(matchMessage(filter, undefined, 'denied 2001:DB8:0::0:1 via #1')).toEqual({
      kind: 'match',
      address: { family: 6, text: '2001:db8::1' },
      pattern: 0,
    });
    expect(filter.addresses.size).toBeLessThanOrEqual(10_000);
  });

  it('captures the address when the pattern is the address alone', () => {
    const alone = compileFilter({ name: 'app', programs: [], patterns: ['<ADDR>'], ignore: [] });
    expect(matchMessage(alone, undefined, '2001:db8::5')).toEqual({ kind: 'match', address: { family: 6, text: '2001:db8::5' }, pattern: 0 });
    expect(matchMessage(alone, undefined, '2001:db8::5 x').kind).toBe('none');
  });
});
