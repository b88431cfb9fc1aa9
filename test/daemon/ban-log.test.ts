import { describe, expect, it } from 'vitest';
import type { WriteOutcome } from '../../src/app/ban-pipeline.js';
import type { BanDecision, BanRecord } from '../../src/core/bans.js';
import { banLogLines } from '../../src/daemon/ban-log.js';

const origin = { source: 'journal', reason: 'sshd: 3 failures', permanent: false };
const record = (address: string, tier = 0): BanRecord => ({
  jail: 'ssh',
  address,
  family: 4,
  source: 'journal',
  reason: null,
  permanent: false,
  bannedAt: 0,
  lastActivity: 0,
  endedAt: null,
  endReason: null,
  offences: 1,
  tier,
});
const decision = (address: string, kind: BanDecision['kind'], tier = 0, previousTier?: number): BanDecision => ({
  record: record(address, tier),
  kind,
  previousTier,
});
const write = (address: string, list: string, command: string, ok = true): WriteOutcome => ({
  jail: 'ssh',
  list,
  address,
  command,
  ok,
  ...(ok ? {} : { error: 'ENOENT' }),
});

describe('banLogLines', () => {
  it('says "banned" once for a new ban, and only at debug for a ban that was already live', () => {
    const lines = banLogLines(
      'ssh',
      origin,
      [decision('192.0.2.7', 'new'), decision('192.0.2.8', 'refresh')],
      [write('192.0.2.7', 'xtban-ssh', '+192.0.2.7'), write('192.0.2.8', 'xtban-ssh', '+192.0.2.8')],
    );
    expect(lines.map((line) => [line.level, line.message])).toEqual([
      ['info', 'banned 192.0.2.7 in jail ssh (sshd: 3 failures)'],
      ['debug', '192.0.2.8 still banned in jail ssh: refreshed'],
    ]);
  });

  it('says "banned" once for a repeat offence that moved up a tier, not again for leaving the old list', () => {
    const lines = banLogLines(
      'ssh',
      origin,
      [decision('192.0.2.9', 'repeat', 1, 0)],
      [write('192.0.2.9', 'xtban-ssh.t1', '+192.0.2.9'), write('192.0.2.9', 'xtban-ssh', '-192.0.2.9')],
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', message: 'banned 192.0.2.9 in jail ssh (sshd: 3 failures)' });
  });

  it('reports failed writes: the ban at error, the leaving of the old list at warning', () => {
    const lines = banLogLines(
      'ssh',
      origin,
      [decision('192.0.2.9', 'repeat', 1, 0)],
      [write('192.0.2.9', 'xtban-ssh.t1', '+192.0.2.9', false), write('192.0.2.9', 'xtban-ssh', '-192.0.2.9', false)],
    );
    expect(lines.map((line) => line.level)).toEqual(['error', 'warn']);
    expect(lines[0]?.message).toContain('failed (recorded; restore retries)');
  });
});
