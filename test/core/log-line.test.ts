import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFileLine, parseJournalEntry, parseNativeLine, parseSyslogLine } from '../../src/core/log-line.js';

describe('log lines', () => {
  const now = new Date(2026, 10, 21, 12).getTime();
  it('splits traditional and ISO syslog lines', () => {
    expect(parseSyslogLine('Nov 21 02:33:01 fw sshd[1201]: Failed password for root from 198.51.100.7 port 1 ssh2', now)).toEqual({
      timeMs: new Date(2026, 10, 21, 2, 33, 1).getTime(),
      program: 'sshd',
      pid: 1201,
      message: 'Failed password for root from 198.51.100.7 port 1 ssh2',
    });
    expect(parseSyslogLine('2026-11-21T02:33:14.5+00:00 fw sshd-session[9]: hello', now)).toEqual({
      timeMs: Date.UTC(2026, 10, 21, 2, 33, 14, 500),
      program: 'sshd-session',
      pid: 9,
      message: 'hello',
    });
    expect(parseSyslogLine('garbage', now)).toBeUndefined();
  });

  it('reads a traditional line exactly as the RFC 3164 regex it stands for, whatever the line holds', () => {
    // The specification: what the hand-written reader must agree with, field for field.
    const TRADITIONAL = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) \S*[^\s:] ([^\s[:]+)(?:\[(\d+)\])?: (.*)$/;
    const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const piece = fc.constantFrom(
      'Nov',
      'Dec',
      'nov',
      'NOV',
      'Xyz',
      ' ',
      '  ',
      '1',
      '21',
      '021',
      '02',
      ':',
      '33',
      '01',
      'fw',
      'fw:',
      'a:b',
      'sshd',
      '[',
      ']',
      '[12]',
      '[]',
      '[x]',
      ': ',
      ':',
      'msg',
      '\t',
      '\u00a0',
      '\u2028',
      '\r',
      '\u3000',
      '\ufeff',
      'é',
      '\ud83d\ude00',
      'from 198.51.100.7',
    );
    const stamp = fc
      .tuple(
        fc.constantFrom(...MONTHS, 'Foo', 'nov'),
        fc.constantFrom(' ', ' ', '  ', '   '),
        fc.constantFrom('1', '21', '9', '30', '123', 'x'),
        fc.constantFrom(' 02:33:01', ' 23:59:59', ' 00:00:00', ' 2:33:01', ' 02:3301'),
      )
      .map((parts) => parts.join(''));
    const line = fc.oneof(
      fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')),
      fc.tuple(stamp, fc.array(piece, { maxLength: 10 })).map(([head, parts]) => head + parts.join('')),
      {
        weight: 4,
        arbitrary: fc
          .tuple(
            stamp,
            fc.constantFrom(' fw ', ' host.example ', ' é ', ' fw: ', ' a\tb ', ' ', ' \u00a0 ', ' x:y '),
            fc.constantFrom('sshd', 'sshd[12]', 'sshd-session[007]', 'sshd[]', 'ss[hd', 'ss:hd', ''),
            fc.constantFrom(': ', ': ', ':', ' : '),
            fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('Failed password', 'a\rb', 'a\u2028b', 'a\u2029b', 'a\u0085b', '')),
          )
          .map((parts) => parts.join('')),
      },
    );
    let read = 0;
    fc.assert(
      fc.property(line, (text) => {
        const spec = TRADITIONAL.exec(text);
        if (spec) read++;
        const record = parseSyslogLine(text, now);
        if (!spec) {
          expect(record).toBeUndefined();
          return;
        }
        const month = MONTHS.indexOf(spec[1] ?? '');
        const expected = new Date(2026, month === -1 ? 0 : month, Number(spec[2]), Number(spec[3]), Number(spec[4]), Number(spec[5])).getTime();
        expect(record).toEqual({
          timeMs:
            expected > now + 86_400_000
              ? new Date(2025, month === -1 ? 0 : month, Number(spec[2]), Number(spec[3]), Number(spec[4]), Number(spec[5])).getTime()
              : expected,
          program: spec[6],
          pid: spec[7] === undefined ? undefined : Number(spec[7]),
          message: spec[8],
        });
      }),
      { numRuns: 10_000 },
    );
    // Lines of both kinds were tried.
    expect(read).toBeGreaterThan(100);
    expect(read).toBeLessThan(9900);
  });

  it('splits hostile lines in linear time', () => {
    const started = performance.now();
    for (const line of [
      `Nov 21 02:33:01 ${'a'.repeat(200_000)}`,
      `Nov 21 02:33:01 fw ${'x'.repeat(200_000)}: y`,
      `Nov 21 02:33:01 fw sshd[${'1'.repeat(200_000)}`,
      `2026-11-21T02:33:14+00:00 fw ${'['.repeat(200_000)}`,
      ' '.repeat(200_000),
    ]) {
      parseSyslogLine(line, now);
    }
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('puts a December line read in January in the year before', () => {
    const january = new Date(2027, 0, 2).getTime();
    expect(new Date(parseSyslogLine('Dec 31 23:59:59 fw sshd[1]: x', january)?.timeMs ?? 0).getFullYear()).toBe(2026);
  });

  it('gives each line its own time when consecutive lines share or change their timestamp and year', () => {
    const line = (stamp: string) => `${stamp} fw sshd[1]: x`;
    const at = (stamp: string, nowMs: number) => parseSyslogLine(line(stamp), nowMs)?.timeMs;
    expect(at('Nov 21 02:33:01', now)).toBe(new Date(2026, 10, 21, 2, 33, 1).getTime());
    expect(at('Nov 21 02:33:01', now)).toBe(new Date(2026, 10, 21, 2, 33, 1).getTime());
    expect(at('Nov 21 02:33:02', now)).toBe(new Date(2026, 10, 21, 2, 33, 2).getTime());
    expect(at('Nov  1 02:33:02', now)).toBe(new Date(2026, 10, 1, 2, 33, 2).getTime());
    // The same text read a year later is a year later.
    expect(at('Nov  1 02:33:02', new Date(2027, 10, 21).getTime())).toBe(new Date(2027, 10, 1, 2, 33, 2).getTime());
    expect(at('Nov  1 02:33:02', now)).toBe(new Date(2026, 10, 1, 2, 33, 2).getTime());
  });

  it('reads journal JSON and refuses what is not a message', () => {
    const entry = parseJournalEntry(
      JSON.stringify({
        __CURSOR: 's=1',
        __REALTIME_TIMESTAMP: '1795228676443000',
        SYSLOG_IDENTIFIER: 'sshd',
        MESSAGE: 'Invalid user x from 198.51.100.1 port 2',
      }),
    );
    expect(entry).toEqual({ timeMs: 1795228676443, program: 'sshd', message: 'Invalid user x from 198.51.100.1 port 2', cursor: 's=1' });
    for (const bad of ['not json', '{"MESSAGE":7}', '{"MESSAGE":[1,256]}', '{"MESSAGE":[1.5]}', '{"MESSAGE":null}'])
      expect(parseJournalEntry(bad), bad).toBeUndefined();
  });

  it('decodes a message journald gives as bytes (not UTF-8, or with control characters), so raw bytes cannot hide a failure', () => {
    const bytes = [...Buffer.from('Invalid user \u00ff from 198.51.100.1 port 2', 'latin1')];
    const entry = parseJournalEntry(JSON.stringify({ __CURSOR: 's=2', SYSLOG_IDENTIFIER: 'sshd', MESSAGE: bytes }));
    expect(entry?.message).toBe('Invalid user \ufffd from 198.51.100.1 port 2');
    expect(entry?.cursor).toBe('s=2');
  });
});

// The specification of the native forms the reader takes by hand (nginx's error log, access logs): the
// regexes they were first read with, whole.
const MONTH_NUMBERS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const NGINX_ERROR = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) (.*)$/;
const ACCESS_TIME = /^\S+ \S+ .*?\[(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\] "/;
function specifiedNative(line: string): { timeMs: number; message: string } | undefined {
  const e = line.charCodeAt(4) === 47 ? NGINX_ERROR.exec(line) : null;
  if (e) return { timeMs: new Date(Number(e[1]), Number(e[2]) - 1, Number(e[3]), Number(e[4]), Number(e[5]), Number(e[6])).getTime(), message: e[7] ?? '' };
  const m = ACCESS_TIME.exec(line);
  if (!m) return undefined;
  const month = MONTH_NUMBERS[m[2] ?? ''];
  if (month === undefined) return undefined;
  const offsetMs = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9])) * 60_000;
  return { timeMs: Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offsetMs, message: line };
}

describe("a daemon's own log lines", () => {
  it('reads nginx error lines and access log lines exactly as the regexes they stand for, whatever the line holds', () => {
    const now = Date.UTC(2026, 11, 4);
    const stamp = fc.constantFrom(
      '[03/Dec/2026:06:14:01 +0000] "',
      '[03/Dec/2026:06:14:02 -0130] "',
      '[03/Dex/2026:06:14:01 +0000] "',
      '[03/dec/2026:06:14:01 +0000] "',
      '[3/Dec/2026:06:14:01 +0000] "',
      '[03/Dec/2026:06:14:01 +0000]',
      '[',
      ']',
    );
    const piece = fc.constantFrom(
      ' ',
      '  ',
      '-',
      '198.51.100.7',
      '2001:db8::1',
      'user',
      '"',
      '\t',
      '\u00a0',
      '\r',
      '\u2028',
      '\u2029',
      '\u0085',
      'GET / HTTP/1.1',
      'é',
      '\ud83d\ude00',
    );
    const nginxStamp = fc.constantFrom('2026/12/03 06:14:01 ', '2026/12/03 06:14:02 ', '2026/12/3 06:14:01 ', '2026/12/03 06:14:01', '2026/12/03T06:14:01 ');
    const line = fc.oneof(
      fc.array(fc.oneof(piece, stamp), { maxLength: 14 }).map((parts) => parts.join('')),
      {
        weight: 3,
        arbitrary: fc
          .tuple(
            fc.constantFrom('198.51.100.7 - - ', '198.51.100.7 - alice ', '2001:db8::1 - - ', '198.51.100.7  - ', '- ', '198.51.100.7 -\t- '),
            fc.array(fc.oneof(piece, stamp), { maxLength: 4 }),
            stamp,
            fc.oneof(fc.string(), fc.constantFrom('GET /.env HTTP/1.1" 404 153 "-" "curl/8"')),
          )
          .map(([head, middle, at, rest]) => head + middle.join('') + at + rest),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            nginxStamp,
            fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('[error] 1#1: *1 x\ry', '[error] 1#1: *1 client: 198.51.100.7', '')),
          )
          .map((parts) => parts.join('')),
      },
    );
    let read = 0;
    fc.assert(
      fc.property(line, (text) => {
        const spec = specifiedNative(text);
        const record = parseNativeLine(text, now);
        if (!spec) {
          // Another form (dovecot's, apache's, ...) may read the line; these two never do.
          if (record) expect(record.message === text || text.startsWith('2026/')).toBe(false);
          return;
        }
        read++;
        expect(record).toEqual({ timeMs: spec.timeMs, program: undefined, pid: undefined, message: spec.message });
      }),
      { numRuns: 10_000 },
    );
    // Lines of both kinds were tried.
    expect(read).toBeGreaterThan(1000);
    expect(read).toBeLessThan(9900);
  });

  const now = new Date(2026, 11, 3, 12, 0, 0).getTime();
  it('reads the timestamp of nginx, apache, vsftpd, MariaDB and dovecot files and keeps the rest as the message', () => {
    expect(parseNativeLine('2026/12/03 06:14:01 [error] 8863#8863: *1 user "a" was not found', now)).toEqual({
      timeMs: new Date(2026, 11, 3, 6, 14, 1).getTime(),
      program: undefined,
      message: '[error] 8863#8863: *1 user "a" was not found',
    });
    expect(parseNativeLine('[Thu Dec 03 06:14:01.123456 2026] [auth_basic:error] [pid 7:tid 8] [client 192.0.2.2:5555] AH01618: x', now)).toMatchObject({
      timeMs: new Date(2026, 11, 3, 6, 14, 1).getTime(),
      message: '[auth_basic:error] [pid 7:tid 8] [client 192.0.2.2:5555] AH01618: x',
    });
    expect(parseNativeLine('Thu Dec  3 06:14:01 2026 [pid 123] [x] FAIL LOGIN: Client "192.0.2.2"', now)).toMatchObject({
      timeMs: new Date(2026, 11, 3, 6, 14, 1).getTime(),
      message: '[pid 123] [x] FAIL LOGIN: Client "192.0.2.2"',
    });
    expect(parseNativeLine("2026-12-03  6:14:01 5 [Warning] Access denied for user 'x'@'192.0.2.2' (using password: YES)", now)).toMatchObject({
      timeMs: new Date(2026, 11, 3, 6, 14, 1).getTime(),
      message: "5 [Warning] Access denied for user 'x'@'192.0.2.2' (using password: YES)",
    });
    expect(parseNativeLine('Dec 03 06:14:01 imap-login: Info: Disconnected', now)).toMatchObject({
      timeMs: new Date(2026, 11, 3, 6, 14, 1).getTime(),
      message: 'imap-login: Info: Disconnected',
    });
  });

  it('keeps an access log line whole and reads its time with its zone', () => {
    const line = '192.0.2.2 - - [03/Dec/2026:06:14:01 +0100] "GET /.env HTTP/1.1" 404 153 "-" "curl/7.88.1"';
    expect(parseNativeLine(line, now)).toEqual({ timeMs: Date.UTC(2026, 11, 3, 5, 14, 1), program: undefined, message: line });
  });

  it('reads no line that lacks a timestamp: the rest of a line a client broke with a newline', () => {
    expect(parseNativeLine('b" was not found in "/etc/nginx/htpasswd", client: 192.0.2.2, server: s', now)).toBeUndefined();
    expect(parseFileLine('b" was not found in "/x", client: 203.0.113.9, server: s', 'auto', now)).toBeUndefined();
  });

  it('does not read dovecot\'s own line as a syslog line of a program named "Info"', () => {
    expect(parseSyslogLine('Dec 03 06:14:01 imap-login: Info: Disconnected', now)).toBeUndefined();
    expect(parseFileLine('Dec 03 06:14:01 imap-login: Info: Disconnected', 'auto', now)).toMatchObject({ message: 'imap-login: Info: Disconnected' });
  });

  it('reads a syslog line as syslog in auto, and a plain line as a message of the given program', () => {
    expect(parseFileLine('Dec  3 06:14:01 fw sshd[42]: hello', 'auto', now)).toMatchObject({ program: 'sshd', pid: 42, message: 'hello' });
    expect(parseFileLine('hello', 'plain', now, 'sshd')).toEqual({ timeMs: now, program: 'sshd', message: 'hello' });
    expect(parseFileLine('Dec  3 06:14:01 fw sshd[42]: hello', 'native', now)).toBeUndefined();
  });

  it('gives a journal entry without an identifier an empty program, never none (which would pass any filter)', () => {
    expect(parseJournalEntry('{"MESSAGE":"x","_PID":"77"}')).toMatchObject({ program: '', pid: 77 });
  });
});
