import { describe, expect, it } from 'vitest';
import { RetryCounter } from '../../src/core/retry-counter.js';
import { parseJournalEntry, parseSyslogLine } from '../../src/core/log-line.js';

describe('RetryCounter', () => {
  it('reaches maxretry only with that many failures inside findtime, exactly', () => {
    const counter = new RetryCounter(3, 60_000);
    expect(counter.add('192.0.2.1', 0)).toBe(false);
    expect(counter.add('192.0.2.1', 30_000)).toBe(false);
    // The first failure is 60 s old: outside the window.
    expect(counter.add('192.0.2.1', 60_000)).toBe(false);
    expect(counter.count('192.0.2.1')).toBe(2);
    expect(counter.add('192.0.2.1', 61_000)).toBe(true);
    // Reaching the limit starts the count again.
    expect(counter.count('192.0.2.1')).toBe(0);
  });

  it('keeps memory bounded under a flood of distinct addresses', () => {
    const counter = new RetryCounter(5, 600_000, 1000);
    for (let i = 0; i < 50_000; i++) counter.add(`2001:db8::${i.toString(16)}`, i);
    expect(counter.tracked).toBe(1000);
    // The most recent addresses are the ones kept.
    expect(counter.count('2001:db8::c34f')).toBe(1);
    expect(counter.count('2001:db8::1')).toBe(0);
  });
});

describe('log lines', () => {
  const now = new Date(2026, 10, 21, 12).getTime();
  it('splits traditional and ISO syslog lines', () => {
    expect(parseSyslogLine('Nov 21 02:33:01 fw sshd[1201]: Failed password for root from 198.51.100.7 port 1 ssh2', now)).toEqual({
      timeMs: new Date(2026, 10, 21, 2, 33, 1).getTime(),
      program: 'sshd',
      message: 'Failed password for root from 198.51.100.7 port 1 ssh2',
    });
    expect(parseSyslogLine('2026-11-21T02:33:14.5+00:00 fw sshd-session[9]: hello', now)).toEqual({ timeMs: Date.UTC(2026, 10, 21, 2, 33, 14, 500), program: 'sshd-session', message: 'hello' });
    expect(parseSyslogLine('garbage', now)).toBeUndefined();
  });

  it('puts a December line read in January in the year before', () => {
    const january = new Date(2027, 0, 2).getTime();
    expect(new Date(parseSyslogLine('Dec 31 23:59:59 fw sshd[1]: x', january)?.timeMs ?? 0).getFullYear()).toBe(2026);
  });

  it('reads journal JSON and refuses what is not a text message', () => {
    const entry = parseJournalEntry(JSON.stringify({ __CURSOR: 's=1', __REALTIME_TIMESTAMP: '1795228676443000', SYSLOG_IDENTIFIER: 'sshd', MESSAGE: 'Invalid user x from 198.51.100.1 port 2' }));
    expect(entry).toEqual({ timeMs: 1795228676443, program: 'sshd', message: 'Invalid user x from 198.51.100.1 port 2', cursor: 's=1' });
    expect(parseJournalEntry('{"MESSAGE":[104,105]}')).toBeUndefined();
    expect(parseJournalEntry('not json')).toBeUndefined();
  });
});
