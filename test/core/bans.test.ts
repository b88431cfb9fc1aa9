import { describe, expect, it } from 'vitest';
import { expiresAt, isLive, planBan, type BanRequest } from '../../src/core/bans.js';

const request: BanRequest = { jail: 'ssh', address: '192.0.2.7', family: 4, source: 'cli', reason: 'brute force', permanent: false };
const tiers = [60, 3600, 86_400];

describe('planBan', () => {
  it('makes a first ban: offence 1, tier 0, now', () => {
    const decision = planBan(undefined, request, tiers, 1000);
    expect(decision.kind).toBe('new');
    expect(decision.record).toEqual({ ...request, bannedAt: 1000, lastActivity: 1000, endedAt: null, endReason: null, offences: 1, tier: 0 });
  });

  it('refreshes a live ban without a new offence, keeping permanence once given', () => {
    const first = planBan(undefined, { ...request, permanent: true }, tiers, 1000).record;
    const again = planBan(first, { ...request, source: 'fail2ban', reason: null }, tiers, 30_000);
    expect(again.kind).toBe('refresh');
    expect(again.record).toMatchObject({
      offences: 1,
      tier: 0,
      bannedAt: 1000,
      lastActivity: 30_000,
      permanent: true,
      source: 'fail2ban',
      reason: 'brute force',
    });
  });

  it("never lets a server's request take over a live ban made by hand or by another key", () => {
    const byHand = planBan(undefined, { ...request, permanent: true, reason: 'scanner' }, tiers, 1000).record;
    expect(planBan(byHand, { ...request, source: 'remote:web1', reason: 'remote 198.51.100.2' }, tiers, 2000).record).toMatchObject({
      source: 'cli',
      reason: 'scanner',
      permanent: true,
      lastActivity: 2000,
    });
    const web1 = planBan(undefined, { ...request, source: 'remote:web1', reason: 'remote a' }, tiers, 1000).record;
    expect(planBan(web1, { ...request, source: 'remote:web2', reason: 'remote b' }, tiers, 2000).record).toMatchObject({
      source: 'remote:web1',
      reason: 'remote a',
    });
    expect(planBan(web1, { ...request, source: 'remote', reason: 'remote c' }, tiers, 2000).record).toMatchObject({ source: 'remote:web1' });
    // The same key refreshes its own; this host (cli, fail2ban, a log) takes the ban over.
    expect(planBan(web1, { ...request, source: 'remote:web1', reason: 'remote d' }, tiers, 2000).record).toMatchObject({
      source: 'remote:web1',
      reason: 'remote d',
    });
    expect(planBan(web1, { ...request, source: 'fail2ban', reason: null }, tiers, 2000).record).toMatchObject({ source: 'fail2ban', reason: 'remote a' });
    // A ban that ran out without being lifted may still be in force in the kernel: it stays this host's.
    expect(planBan({ ...byHand, permanent: false }, { ...request, source: 'remote:web1' }, tiers, 1000 + 61_000).record).toMatchObject({
      source: 'cli',
      reason: 'scanner',
    });
    // A ban that was lifted (unban, flush) or reaped is over: the next one is the new requester's.
    expect(
      planBan({ ...byHand, permanent: false, endedAt: 5000, endReason: 'unban' }, { ...request, source: 'remote:web1' }, tiers, 1000 + 61_000).record.source,
    ).toBe('remote:web1');
    expect(
      planBan({ ...byHand, permanent: false, endedAt: 5000, endReason: 'reaped' }, { ...request, source: 'remote:web1' }, tiers, 1000 + 61_000).record.source,
    ).toBe('remote:web1');
  });

  it('counts a ban after the window passed as a repeat offence one tier up, capped at the last tier', () => {
    let record = planBan(undefined, request, tiers, 0).record;
    const second = planBan(record, request, tiers, 61_000);
    expect(second.kind).toBe('repeat');
    expect(second.record).toMatchObject({ offences: 2, tier: 1, bannedAt: 61_000 });
    record = second.record;
    const third = planBan(record, request, tiers, 61_000 + 3_600_001);
    expect(third.record).toMatchObject({ offences: 3, tier: 2 });
    const fourth = planBan(third.record, request, tiers, 61_000 + 3_600_001 + 86_400_001);
    expect(fourth.record).toMatchObject({ offences: 4, tier: 2 });
    expect(fourth.previousTier).toBe(2);
  });

  it('counts a ban after an unban or flush as a repeat offence at the same tier', () => {
    const record = { ...planBan(undefined, request, tiers, 0).record, endedAt: 5000, endReason: 'unban' };
    expect(planBan(record, request, tiers, 6000)).toMatchObject({ kind: 'repeat', record: { offences: 2, tier: 0, endedAt: null } });
    const flushed = { ...record, tier: 1, endReason: 'flush' };
    expect(planBan(flushed, request, tiers, 6000)).toMatchObject({ kind: 'repeat', record: { offences: 2, tier: 1 } });
    const reaped = { ...record, endReason: 'reaped' };
    expect(planBan(reaped, request, tiers, 6000)).toMatchObject({ kind: 'repeat', record: { offences: 2, tier: 1 } });
  });

  it('stays at tier 0 for a jail without tiers', () => {
    const record = planBan(undefined, request, [60], 0).record;
    expect(planBan(record, request, [60], 120_000).record).toMatchObject({ offences: 2, tier: 0 });
  });
});

describe('isLive and expiresAt', () => {
  const record = planBan(undefined, request, tiers, 0).record;
  it('is live until last activity plus the window', () => {
    expect(isLive(record, 60, 59_999)).toBe(true);
    expect(isLive(record, 60, 60_000)).toBe(false);
    expect(expiresAt(record, 60)).toBe(60_000);
  });
  it('keeps permanent bans live forever and ended bans never', () => {
    expect(isLive({ ...record, permanent: true }, 60, 10 ** 13)).toBe(true);
    expect(expiresAt({ ...record, permanent: true }, 60)).toBeNull();
    expect(isLive({ ...record, permanent: true, endedAt: 1 }, 60, 2)).toBe(false);
  });
});
