// Kernel clock arithmetic for xt_recent stamps: pure, `now` comes in through a KernelClock.
//
// The kernel's rules, from include/linux/jiffies.h and net/netfilter/xt_recent.c:
// - jiffies start at INITIAL_JIFFIES = (unsigned long)(unsigned int)(-300*HZ), i.e. 2^32 - 300*HZ,
//   so a 32-bit counter wraps five minutes after boot and a 64-bit one passes 2^32 then;
// - time_after(a, b) is `(long)((b) - (a)) < 0`: a signed difference in the word size;
// - recent_mt() computes `time = jiffies - info->seconds * HZ` where info->seconds is a __u32, so
//   seconds*HZ is a 32-bit product: windows longer than (2^32 - 1) / HZ seconds wrap (measured:
//   `--seconds 17179870` at HZ=250 behaves as a 204-jiffy window);
// - a stamp counts for --rcheck/--update when `!(seconds && time_after(time, stamp))`.

export type WordBits = 32 | 64;

// What the rest of the program needs to turn stamps into ages and wall-clock times.
export interface KernelClock {
  /** CONFIG_HZ */
  hz: number;
  /** jiffies at the moment of reading */
  jiffies: number;
  /** wall-clock ms since the epoch at the same moment */
  wallMs: number;
  /** 32-bit kernels wrap jiffies modulo 2^32 */
  wordBits: WordBits;
  /** how each value was found, e.g. hz 'config.gz' | 'boot-config' | 'fit-uptime', jiffies 'timer_list' | 'uptime' */
  method: { hz: string; jiffies: string };
}

const TWO_32 = 2 ** 32;
const TWO_31 = 2 ** 31;

// The HZ values Kconfig offers (kernel/Kconfig.hz); fitHz picks among them.
export const HZ_CANDIDATES: readonly number[] = [100, 250, 300, 1000];

function mod32(value: number): number {
  const m = value % TWO_32;
  return m < 0 ? m + TWO_32 : m;
}

// `later - earlier` as the kernel's signed long sees it: plain on 64-bit, wrapped into [-2^31, 2^31) on 32-bit.
export function wrapDelta(later: number, earlier: number, wordBits: WordBits): number {
  const d = later - earlier;
  if (wordBits === 64) return d;
  const m = mod32(d);
  return m >= TWO_31 ? m - TWO_32 : m;
}

// The kernel's time_after(a, b): true when a is later than b.
export function timeAfter(a: number, b: number, wordBits: WordBits): boolean {
  return wrapDelta(b, a, wordBits) < 0;
}

// Adds jiffies the way an unsigned long does (modulo 2^32 on 32-bit).
export function addJiffies(value: number, delta: number, wordBits: WordBits): number {
  return wordBits === 64 ? value + delta : mod32(value + delta);
}

// Jiffies elapsed from `earlier` to `later` on this clock's word size.
export function jiffiesDelta(clock: KernelClock, later: number, earlier: number): number {
  return wrapDelta(later, earlier, clock.wordBits);
}

// Seconds from a stamp to the clock's reading; negative if the stamp is newer than the reading
// (read the lists before the clock to avoid that).
export function ageSeconds(clock: KernelClock, stamp: number): number {
  return jiffiesDelta(clock, clock.jiffies, stamp) / clock.hz;
}

// Wall-clock ms since the epoch at which the kernel took a stamp (exact to the jiffy, not rounded).
export function stampToWallMs(clock: KernelClock, stamp: number): number {
  return clock.wallMs - (jiffiesDelta(clock, clock.jiffies, stamp) * 1000) / clock.hz;
}

// The window in jiffies exactly as recent_mt computes it: a 32-bit product seconds*HZ.
export function windowJiffies(hz: number, windowSeconds: number): number {
  return mod32(windowSeconds * hz);
}

// Whether --rcheck/--update --seconds windowSeconds would count this stamp now: !time_after(now - window*HZ, stamp).
// A window of 0 means no --seconds: every stamp counts.
export function isWithinWindow(clock: KernelClock, stamp: number, windowSeconds: number): boolean {
  if (windowSeconds === 0) return true;
  const time = addJiffies(clock.jiffies, -windowJiffies(clock.hz, windowSeconds), clock.wordBits);
  return !timeAfter(time, stamp, clock.wordBits);
}

// Seconds until the stamp stops counting (the first jiffy at which now - window*HZ is after it), >= 0.
// secondsLeft > 0 exactly when isWithinWindow is true; Infinity for a window of 0 (no --seconds).
export function secondsLeft(clock: KernelClock, stamp: number, windowSeconds: number): number {
  if (windowSeconds === 0) return Infinity;
  const expiresAt = addJiffies(stamp, windowJiffies(clock.hz, windowSeconds) + 1, clock.wordBits);
  const left = jiffiesDelta(clock, expiresAt, clock.jiffies);
  return left > 0 ? left / clock.hz : 0;
}

// INITIAL_JIFFIES: the value of jiffies at boot, 2^32 - 300*HZ on both word sizes.
export function initialJiffies(hz: number, wordBits: WordBits): number {
  const value = TWO_32 - 300 * hz;
  return wordBits === 64 ? value : mod32(value);
}

// Jiffies estimated from /proc/uptime. Measured on 6.18: jiffies lag CLOCK_BOOTTIME by about 0.25 s
// (63 jiffies at 250 Hz) after boot, and they do not count time spent suspended, so this is approximate.
export function jiffiesFromUptime(uptimeSeconds: number, hz: number, wordBits: WordBits): number {
  const elapsed = Math.floor(uptimeSeconds * hz + 1e-6);
  return addJiffies(initialJiffies(hz, wordBits), elapsed, wordBits);
}

// How far (in seconds) jiffies may sit from what uptime predicts for the right HZ.
const FIT_TOLERANCE_SECONDS = 1;

// Which HZ in {100, 250, 300, 1000} explains this jiffies value at this uptime, or undefined when none
// or several do. Every HZ gives jiffies = 2^32 at 300 s uptime, so near five minutes the answer is ambiguous.
export function fitHz(jiffies: number, uptimeSeconds: number): number | undefined {
  if (!Number.isFinite(jiffies) || !Number.isFinite(uptimeSeconds) || uptimeSeconds < 0) return undefined;
  // Above 2^32 the kernel is 64-bit; below, compare modulo 2^32 (right for 32-bit, and for 64-bit before 300 s).
  const wordBits: WordBits = jiffies >= TWO_32 ? 64 : 32;
  const fits = HZ_CANDIDATES.filter((hz) => {
    const expected = jiffiesFromUptime(uptimeSeconds, hz, wordBits);
    return Math.abs(wrapDelta(jiffies, expected, wordBits)) / hz <= FIT_TOLERANCE_SECONDS;
  });
  return fits.length === 1 ? fits[0] : undefined;
}
