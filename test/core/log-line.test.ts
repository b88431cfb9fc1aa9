import { describe, expect, it } from 'vitest';
import { parseJournalEntry, parseSyslogLine } from '../../src/core/log-line.js';

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
