import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { countFailures, RetryCounter } from '../../src/core/retry-counter.js';

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

  it('counts failures given out of order (several files) by their times, not their order', () => {
    const counter = new RetryCounter(3, 60_000);
    expect(counter.add('192.0.2.1', 10_000)).toBe(false);
    // 10 s is outside the window that ends at 75 s.
    expect(counter.add('192.0.2.1', 75_000)).toBe(false);
    expect(counter.count('192.0.2.1')).toBe(1);
    expect(counter.add('192.0.2.1', 50_000)).toBe(false);
    expect(counter.count('192.0.2.1')).toBe(2);
    // 20 s, 50 s and 75 s lie within 60 s of each other: the limit, whatever the order they came in.
    expect(counter.add('192.0.2.1', 20_000)).toBe(true);
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

describe('countFailures', () => {
  it('says what a RetryCounter fed the same failures in order says: counts, first bans and their order', () => {
    const failure = fc.record({
      address: fc.constantFrom('192.0.2.1', '192.0.2.2', '2001:db8::1', '198.51.100.7'),
      time: fc.integer({ min: 0, max: 200_000 }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(failure, { maxLength: 40 }), { maxLength: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 90_000 }),
        (runs, maxretry, findtimeMs) => {
          const counter = new RetryCounter(maxretry, findtimeMs, 1_000_000);
          const matches = new Map<string, number>();
          const banned = new Map<string, number>();
          for (const run of runs)
            for (const { address, time } of run) {
              matches.set(address, (matches.get(address) ?? 0) + 1);
              if (counter.add(address, time) && !banned.has(address)) banned.set(address, time);
            }
          const given = runs.map((run) => {
            const addresses = [...new Set(run.map((f) => f.address))].reverse();
            return { addresses, which: Uint32Array.from(run, (f) => addresses.indexOf(f.address)), times: Float64Array.from(run, (f) => f.time) };
          });
          const result = countFailures(given, maxretry, findtimeMs);
          expect(new Map([...result.matches].sort())).toEqual(new Map([...matches].sort()));
          expect([...result.banned]).toEqual([...banned]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
