// Clock arithmetic: fixture values captured on Linux 6.18 at HZ=250, and synthetic 32-bit wrap cases.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  addJiffies,
  ageSeconds,
  fitHz,
  initialJiffies,
  isWithinWindow,
  jiffiesDelta,
  jiffiesFromUptime,
  secondsLeft,
  stampToWallMs,
  timeAfter,
  windowJiffies,
  wrapDelta,
} from '../../src/core/jiffies.js';
import type { KernelClock } from '../../src/core/jiffies.js';
import { parseRecentList } from '../../src/core/proc-format.js';
import { newestStamp } from '../helpers/newest-stamp.js';

const PROC = fileURLToPath(new URL('../../fixtures/proc/', import.meta.url));
const CAPTURED_AT = Number(readFileSync(`${PROC}captured-at`, 'latin1').trim());
// The `jiffies:` line of fixtures/proc/timer_list.
const CAPTURED_JIFFIES = 4294974736;

const clock64: KernelClock = {
  hz: 250,
  jiffies: CAPTURED_JIFFIES,
  wallMs: CAPTURED_AT,
  wordBits: 64,
  method: { hz: 'config.gz', jiffies: 'timer_list' },
};

// A 32-bit kernel 100 jiffies after its counter wrapped.
const clock32: KernelClock = { hz: 250, jiffies: 100, wallMs: 1_000_000, wordBits: 32, method: { hz: 'test', jiffies: 'test' } };

describe('fixture values', () => {
  it('captured-at is the ms timestamp recorded in the README', () => {
    expect(CAPTURED_AT).toBe(1795228676443);
    expect(readFileSync(`${PROC}timer_list`, 'latin1')).toContain(`\njiffies: ${CAPTURED_JIFFIES}\n`);
  });

  it('ages and wall-clock times of fixture entries, exact to the jiffy', () => {
    const ipv4 = parseRecentList(readFileSync(`${PROC}net/xt_recent/ipv4`, 'latin1'));
    const busy = ipv4.find((e) => e.address === '192.0.2.10');
    expect(busy).toBeDefined();
    const newest = newestStamp(busy!, 64);
    expect(newest).toBe(4294973334);
    // 4294974736 - 4294973334 = 1402 jiffies = 5.608 s = 5608 ms before the capture.
    expect(ageSeconds(clock64, newest)).toBe(5.608);
    expect(stampToWallMs(clock64, newest)).toBe(1795228670835);
    // Its first stamp, two writes (about 0.6 s) earlier.
    expect(ageSeconds(clock64, 4294973027)).toBe(6.836);
    expect(stampToWallMs(clock64, 4294973027)).toBe(1795228669607);

    const [wrapped] = parseRecentList(readFileSync(`${PROC}net/xt_recent/wrapped`, 'latin1'));
    expect(stampToWallMs(clock64, newestStamp(wrapped!, 64))).toBe(1795228676443 - 626 * 4);
    expect(ageSeconds(clock64, wrapped!.stamps[8]!)).toBe(3.008);
  });

  it('the capture was taken about 2 s after the last write, as the README says', () => {
    const full = parseRecentList(readFileSync(`${PROC}net/xt_recent/full`, 'latin1'));
    const youngest = Math.min(...full.map((e) => ageSeconds(clock64, e.lastSeen)));
    expect(youngest).toBeGreaterThan(2);
    expect(youngest).toBeLessThan(2.5);
  });

  it('HZ 250 is the only HZ that fits the fixture timer_list and uptime', () => {
    expect(fitHz(CAPTURED_JIFFIES, 330.01)).toBe(250);
  });
});

describe('word-size arithmetic', () => {
  it('wrapDelta is plain on 64-bit and signed modulo 2^32 on 32-bit', () => {
    expect(wrapDelta(5, 4294967290, 64)).toBe(-4294967285);
    expect(wrapDelta(5, 4294967290, 32)).toBe(11);
    expect(wrapDelta(4294967290, 5, 32)).toBe(-11);
    expect(wrapDelta(2 ** 31 - 1, 0, 32)).toBe(2 ** 31 - 1);
    expect(wrapDelta(2 ** 31, 0, 32)).toBe(-(2 ** 31));
    expect(wrapDelta(4294974736, 4294973334, 64)).toBe(1402);
  });

  it('timeAfter is the kernel macro, including its tie at exactly half the range on 32-bit', () => {
    expect(timeAfter(5, 4294967290, 32)).toBe(true);
    expect(timeAfter(4294967290, 5, 32)).toBe(false);
    expect(timeAfter(5, 4294967290, 64)).toBe(false);
    expect(timeAfter(7, 7, 32)).toBe(false);
    // (long)(b - a) < 0 with b - a = -2^31 is true, and so is the reverse: both are "after" each other.
    expect(timeAfter(2 ** 31, 0, 32)).toBe(true);
    expect(timeAfter(0, 2 ** 31, 32)).toBe(true);
  });

  it('addJiffies wraps only on 32-bit', () => {
    expect(addJiffies(4294967290, 10, 32)).toBe(4);
    expect(addJiffies(4294967290, 10, 64)).toBe(4294967300);
    expect(addJiffies(4, -10, 32)).toBe(4294967290);
  });

  it('jiffiesDelta uses the clock word size', () => {
    expect(jiffiesDelta(clock32, 100, 4294967200)).toBe(196);
    expect(jiffiesDelta({ ...clock32, wordBits: 64 }, 100, 4294967200)).toBe(-4294967100);
  });
});

describe('ages and wall-clock times across a 32-bit wrap', () => {
  it('a stamp taken before the wrap is 196 jiffies old, not negative', () => {
    expect(ageSeconds(clock32, 4294967200)).toBe(0.784);
    expect(stampToWallMs(clock32, 4294967200)).toBe(1_000_000 - 784);
    expect(ageSeconds(clock32, 100)).toBe(0);
  });

  it('a stamp newer than the clock reading has a negative age', () => {
    expect(ageSeconds(clock64, CAPTURED_JIFFIES + 25)).toBe(-0.1);
    expect(stampToWallMs(clock64, CAPTURED_JIFFIES + 25)).toBe(CAPTURED_AT + 100);
  });

  it('fractional ms at HZ that do not divide 1000', () => {
    const clock300: KernelClock = { ...clock64, hz: 300 };
    expect(stampToWallMs(clock300, CAPTURED_JIFFIES - 1)).toBeCloseTo(CAPTURED_AT - 10 / 3, 9);
  });
});

describe('isWithinWindow and secondsLeft follow !time_after(now - window*HZ, stamp)', () => {
  const now = CAPTURED_JIFFIES;

  it('the stamp exactly window*HZ old still counts; one jiffy older does not', () => {
    expect(isWithinWindow(clock64, now - 60 * 250, 60)).toBe(true);
    expect(isWithinWindow(clock64, now - 60 * 250 - 1, 60)).toBe(false);
    expect(secondsLeft(clock64, now - 60 * 250, 60)).toBe(0.004);
    expect(secondsLeft(clock64, now - 60 * 250 - 1, 60)).toBe(0);
    expect(secondsLeft(clock64, now - 60 * 250 - 1000, 60)).toBe(0);
  });

  it('a fresh stamp has the whole window plus the current jiffy left', () => {
    expect(isWithinWindow(clock64, now, 60)).toBe(true);
    expect(secondsLeft(clock64, now, 60)).toBe(60.004);
  });

  it('fixture entries against 5 s and 6 s windows', () => {
    // 192.0.2.10 was last seen 5.608 s before the capture.
    expect(isWithinWindow(clock64, 4294973334, 5)).toBe(false);
    expect(isWithinWindow(clock64, 4294973334, 6)).toBe(true);
    expect(secondsLeft(clock64, 4294973334, 6)).toBe(0.396);
  });

  it('window 0 means no --seconds: everything counts, forever', () => {
    expect(isWithinWindow(clock64, 0, 0)).toBe(true);
    expect(secondsLeft(clock64, 0, 0)).toBe(Infinity);
  });

  it('stamps newer than the clock reading count', () => {
    expect(isWithinWindow(clock64, now + 10, 1)).toBe(true);
    expect(secondsLeft(clock64, now + 10, 1)).toBe(1.044);
  });

  it('works across a 32-bit wrap', () => {
    // now - 1 s = 100 - 250 = 4294967146 (mod 2^32)
    expect(isWithinWindow(clock32, 4294967146, 1)).toBe(true);
    expect(isWithinWindow(clock32, 4294967145, 1)).toBe(false);
    expect(isWithinWindow(clock32, 4294967200, 1)).toBe(true);
    expect(secondsLeft(clock32, 4294967200, 1)).toBe(0.22);
    expect(secondsLeft(clock32, 4294967146, 1)).toBe(0.004);
    // The same numbers read as 64-bit: the stamp is far in the future, so it counts.
    expect(isWithinWindow({ ...clock32, wordBits: 64 }, 4294967145, 1)).toBe(true);
  });

  it('the kernel multiplies seconds*HZ in 32 bits: long windows wrap', () => {
    expect(windowJiffies(250, 60)).toBe(15000);
    expect(windowJiffies(250, 17179869)).toBe(4294967250);
    // 17179870 * 250 = 2^32 + 204: measured on 6.18 to behave as a 0.816 s window.
    expect(windowJiffies(250, 17179870)).toBe(204);
    expect(isWithinWindow(clock64, now - 204, 17179870)).toBe(true);
    expect(isWithinWindow(clock64, now - 205, 17179870)).toBe(false);
    expect(secondsLeft(clock64, now, 17179870)).toBe(0.82);
    // The longest window that does not wrap: 17,179,869 s (198 days) at 250 Hz, 4,294,967 s at 1000 Hz.
    expect(windowJiffies(250, 17179869)).toBe(4294967250);
    expect(windowJiffies(1000, 4294967)).toBe(4294967000);
    // A year at 1000 Hz wraps to about 17 days.
    expect(windowJiffies(1000, 365 * 86400)).toBe(1471228928);
  });
});

describe('boot-time jiffies', () => {
  it('INITIAL_JIFFIES is 2^32 - 300*HZ', () => {
    expect(initialJiffies(250, 64)).toBe(4294892296);
    expect(initialJiffies(250, 32)).toBe(4294892296);
    expect(initialJiffies(1000, 64)).toBe(4294667296);
    expect(initialJiffies(100, 32)).toBe(4294937296);
  });

  it('jiffiesFromUptime counts whole ticks from INITIAL_JIFFIES and wraps on 32-bit', () => {
    expect(jiffiesFromUptime(330.01, 250, 64)).toBe(4294974798);
    expect(jiffiesFromUptime(330.01, 250, 32)).toBe(7502);
    expect(jiffiesFromUptime(0, 300, 64)).toBe(4294877296);
    expect(jiffiesFromUptime(300, 1000, 64)).toBe(2 ** 32);
    // 0.29 * 100 is 28.999999999999996 in floating point: still 29 ticks.
    expect(jiffiesFromUptime(0.29, 100, 64)).toBe(4294937296 + 29);
    expect(jiffiesFromUptime(0.296, 100, 64)).toBe(4294937296 + 29);
  });

  it('measured: uptime runs about 0.25 s ahead of jiffies, so the estimate is ahead by 62 jiffies here', () => {
    expect(jiffiesFromUptime(330.01, 250, 64) - CAPTURED_JIFFIES).toBe(62);
  });
});

describe('fitHz', () => {
  it('finds each HZ from a consistent pair', () => {
    for (const hz of [100, 250, 300, 1000]) {
      for (const uptime of [30, 1000, 86_400 * 40]) {
        const jiffies = jiffiesFromUptime(uptime, hz, 64) - Math.round(0.25 * hz);
        expect(fitHz(jiffies, uptime), `${hz} Hz at ${uptime} s`).toBe(hz);
      }
    }
  });

  it('works on 32-bit kernels after the counter wrapped many times', () => {
    const uptime = 86_400 * 400; // 400 days: a 1000 Hz counter wraps every 49.7 days
    for (const hz of [100, 250, 300, 1000]) {
      expect(fitHz(jiffiesFromUptime(uptime, hz, 32), uptime), `${hz} Hz`).toBe(hz);
    }
  });

  it('is ambiguous around 300 s of uptime, where every HZ gives jiffies = 2^32', () => {
    expect(fitHz(2 ** 32, 300)).toBeUndefined();
    expect(fitHz(jiffiesFromUptime(303, 250, 64), 303)).toBeUndefined();
    expect(fitHz(jiffiesFromUptime(310, 250, 64), 310)).toBe(250);
  });

  it('refuses when nothing fits (suspended time, garbage)', () => {
    // Suspended for an hour: uptime counts it, jiffies do not.
    expect(fitHz(jiffiesFromUptime(10_000, 250, 64), 13_600)).toBeUndefined();
    expect(fitHz(12345, 1000)).toBeUndefined();
    expect(fitHz(Number.NaN, 1000)).toBeUndefined();
    expect(fitHz(4294974736, -1)).toBeUndefined();
  });
});
