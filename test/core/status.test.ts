import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KernelClock } from '../../src/core/jiffies.js';
import { parseRecentList } from '../../src/core/proc-format.js';
import { buildListStatus, capacityAdvice } from '../../src/core/status.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/proc/net/xt_recent/${name}`, import.meta.url), 'utf8');

// The clock of the capture: jiffies from fixtures/proc/timer_list, wall time from fixtures/proc/captured-at.
const clock: KernelClock = { hz: 250, jiffies: 4294974736, wallMs: 1795228676443, wordBits: 64, method: { hz: 'config.gz', jiffies: 'timer_list' } };

describe('buildListStatus under a mask', () => {
  it("never calls live an entry the jail's mask would never match (one made before the mask changed)", () => {
    const status = buildListStatus(
      { jail: 'ssh', list: 'ipv4', windowSeconds: 6, entries: parseRecentList(fixture('ipv4')), mask: { 4: 24, 6: 64 } },
      clock,
      100,
    );
    // 192.0.2.10 and 198.51.100.7 have host bits a /24 clears; none of the entries is a network address.
    expect(status.entries.map((entry) => [entry.address, entry.state])).toEqual([
      ['192.0.2.10', 'unmatched'],
      ['198.51.100.7', 'unmatched'],
      ['192.0.2.1', 'unmatched'],
      ['203.0.113.99', 'unmatched'],
    ]);
    expect(status.live).toBe(0);
    // A ban written masked (the network address) is live as before.
    const network = buildListStatus(
      {
        jail: 'ssh',
        list: 'ipv4',
        windowSeconds: 6,
        entries: parseRecentList('src=192.0.2.0 ttl: 0 last_seen: 4294973334 oldest_pkt: 1 4294973334\n'),
        mask: { 4: 24, 6: 64 },
      },
      clock,
      100,
    );
    expect(network.entries.map((entry) => entry.state)).toEqual(['live']);
    const full = buildListStatus(
      { jail: 'ssh', list: 'ipv4', windowSeconds: 6, entries: parseRecentList(fixture('ipv4')), mask: { 4: 32, 6: 128 } },
      clock,
      100,
    );
    expect(full.live).toBe(2);
  });
});

describe('buildListStatus', () => {
  it('splits live from stale by the kernel rule and gives exact wall-clock times', () => {
    const status = buildListStatus({ jail: 'ssh', list: 'ipv4', windowSeconds: 6, entries: parseRecentList(fixture('ipv4')) }, clock, 100);
    expect(status).toMatchObject({ jail: 'ssh', list: 'ipv4', exists: true, capacity: 100, used: 4, free: 96, usePercent: 4, live: 2, stale: 2 });
    // Newest first.
    expect(status.entries.map((entry) => [entry.address, entry.state])).toEqual([
      ['192.0.2.10', 'live'],
      ['198.51.100.7', 'live'],
      ['192.0.2.1', 'stale'],
      ['203.0.113.99', 'stale'],
    ]);
    const newest = status.entries[0];
    // 4294974736 - 4294973334 = 1402 jiffies = 5.608 s before the capture.
    expect(newest?.ageSeconds).toBeCloseTo(5.608, 6);
    expect(newest?.lastSeen).toBe(new Date(1795228676443 - 5608).toISOString());
    // Window 6 s = 1500 jiffies: the stamp stops counting at 4294973334 + 1501, 99 jiffies after the capture.
    expect(newest?.secondsLeft).toBeCloseTo(0.396, 6);
    expect(newest?.hits).toBe(3);
    expect(newest?.ttl).toBe(0);
    expect(status.entries[2]?.secondsLeft).toBe(0);
  });

  it('reports a full list at 100 % and a missing list as not existing', () => {
    const full = buildListStatus({ jail: null, list: 'full', windowSeconds: null, entries: parseRecentList(fixture('full')) }, clock, 100);
    expect(full).toMatchObject({ used: 100, free: 0, usePercent: 100, live: 0, stale: 0 });
    expect(full.entries.every((entry) => entry.state === 'unknown' && entry.secondsLeft === null)).toBe(true);
    const missing = buildListStatus({ jail: 'ssh', list: 'gone', windowSeconds: 60, entries: undefined }, clock, 100);
    expect(missing).toMatchObject({ exists: false, used: 0 });
  });

  it('shows IPv6 entries compressed', () => {
    const status = buildListStatus({ jail: 'ssh', list: 'ipv6', windowSeconds: 3600, entries: parseRecentList(fixture('ipv6')) }, clock, 100);
    expect(status.entries.map((entry) => entry.address)).toContain('2001:db8:85a3::8a2e:370:7334');
    expect(status.live).toBe(status.used);
  });

  it('says how to make room: a larger capacity for each jail whose lists are full, which apply turns into shards and the modprobe.d value', () => {
    const advice = capacityAdvice(
      [
        { jail: 'web', capacity: 10_000 },
        { jail: 'web', capacity: 10_000 },
        { jail: 'ssh', capacity: undefined },
      ],
      100,
    );
    expect(advice).toContain('raise capacity in [jails.web] (now 10000), [jails.ssh] (no capacity set: ip_list_tot, 100)');
    expect(advice).toContain('run xtban apply');
    expect(advice).toContain('/etc/modprobe.d/xtban.conf');
  });
});
