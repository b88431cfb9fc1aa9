// Reads the kernel's HZ and current jiffies, paired with the wall clock, so stamps become exact times.
//
// HZ:      CONFIG_HZ= in <procRoot>/config.gz, else <bootDir>/config-<release>, else the HZ that fits
//          timer_list jiffies against uptime (fitHz), else an error that says how to fix it.
// jiffies: the first `jiffies:` line of <procRoot>/timer_list (root only), else <procRoot>/uptime and HZ.

import { readFileSync } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { release as osRelease } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';
import { ExitCode, XtbanError } from '../core/errors.js';
import { fitHz, jiffiesFromUptime } from '../core/jiffies.js';
import type { KernelClock, WordBits } from '../core/jiffies.js';

const gunzipAsync = promisify(gunzip);

export interface KernelClockOptions {
  /** default '/proc' */
  procRoot?: string;
  /** default '/boot' */
  bootDir?: string;
  /** kernel release for <bootDir>/config-<release>; default os.release() */
  release?: string;
  /** wall clock, ms since the epoch; default Date.now */
  nowMs?: () => number;
  /** default from process.arch (64-bit arches give 64) */
  wordBits?: WordBits;
}

const ARCH_64 = new Set(['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64', 'mips64el']);
const TWO_32 = 2 ** 32;
const CONFIG_HZ = /^CONFIG_HZ=(\d+)$/m;
// A whole `jiffies: N` line (the newline proves the number is complete).
const JIFFIES_LINE = /(?:^|\n)jiffies: (\d+)\n/;
const TIMER_LIST_CHUNK = 64 * 1024;
// timer_list lists every pending timer of every CPU; the first jiffies line follows CPU 0's lists.
const TIMER_LIST_LIMIT = 16 * 1024 * 1024;

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

function parseHz(text: string): number | undefined {
  const m = CONFIG_HZ.exec(text);
  if (m === null) return undefined;
  const hz = Number(m[1]);
  return Number.isSafeInteger(hz) && hz > 0 ? hz : undefined;
}

interface Attempt<T> {
  value?: T;
  failure?: string;
}

async function hzFromConfigGz(path: string): Promise<Attempt<number>> {
  try {
    const text = (await gunzipAsync(await readFile(path))).toString('latin1');
    const hz = parseHz(text);
    return hz === undefined ? { failure: `${path}: no CONFIG_HZ= line` } : { value: hz };
  } catch (error) {
    return { failure: `${path}: ${errorCode(error)}` };
  }
}

async function hzFromBootConfig(path: string): Promise<Attempt<number>> {
  try {
    const hz = parseHz(await readFile(path, 'latin1'));
    return hz === undefined ? { failure: `${path}: no CONFIG_HZ= line` } : { value: hz };
  } catch (error) {
    return { failure: `${path}: ${errorCode(error)}` };
  }
}

interface Reading {
  value: number;
  wallMs: number;
}

// Reads timer_list chunk by chunk only until the first complete `jiffies:` line; wall time is the
// midpoint of the read that produced it.
async function jiffiesFromTimerList(path: string, nowMs: () => number): Promise<Attempt<Reading>> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return { failure: `${path}: ${errorCode(error)}` };
  }
  try {
    const buffer = Buffer.allocUnsafe(TIMER_LIST_CHUNK);
    let text = '';
    while (text.length < TIMER_LIST_LIMIT) {
      const before = nowMs();
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      const after = nowMs();
      if (bytesRead === 0) break;
      // Search from the last line boundary already seen: earlier lines held no complete match.
      const from = Math.max(0, text.lastIndexOf('\n'));
      text += buffer.toString('latin1', 0, bytesRead);
      const m = JIFFIES_LINE.exec(from === 0 ? text : text.slice(from));
      if (m !== null) {
        const value = Number(m[1]);
        if (!Number.isSafeInteger(value)) return { failure: `${path}: jiffies value ${m[1]} out of range` };
        return { value: { value, wallMs: (before + after) / 2 } };
      }
    }
    return { failure: `${path}: no "jiffies:" line` };
  } catch (error) {
    return { failure: `${path}: ${errorCode(error)}` };
  } finally {
    await handle.close();
  }
}

async function readUptime(path: string, nowMs: () => number): Promise<Attempt<Reading>> {
  try {
    const before = nowMs();
    const text = await readFile(path, 'latin1');
    const after = nowMs();
    const m = /^(\d+(?:\.\d+)?) /.exec(text);
    if (m === null) return { failure: `${path}: unexpected content ${JSON.stringify(text.slice(0, 40))}` };
    return { value: { value: Number(m[1]), wallMs: (before + after) / 2 } };
  } catch (error) {
    return { failure: `${path}: ${errorCode(error)}` };
  }
}

// The width of the kernel's unsigned long, guessed from the architecture node runs on.
export function defaultWordBits(): WordBits {
  return ARCH_64.has(process.arch) ? 64 : 32;
}

// Reads HZ, jiffies and the wall clock at the same moment; throws an XtbanError (exit 3) if HZ cannot be found.
export async function readKernelClock(options: KernelClockOptions = {}): Promise<KernelClock> {
  const procRoot = options.procRoot ?? '/proc';
  const bootDir = options.bootDir ?? '/boot';
  const release = options.release ?? osRelease();
  const nowMs = options.nowMs ?? Date.now;
  let wordBits = options.wordBits ?? defaultWordBits();

  const failures: string[] = [];
  let hz: number | undefined;
  let hzMethod = '';
  const fromGz = await hzFromConfigGz(join(procRoot, 'config.gz'));
  if (fromGz.value !== undefined) {
    hz = fromGz.value;
    hzMethod = 'config.gz';
  } else {
    failures.push(fromGz.failure ?? '');
    const fromBoot = await hzFromBootConfig(join(bootDir, `config-${release}`));
    if (fromBoot.value !== undefined) {
      hz = fromBoot.value;
      hzMethod = 'boot-config';
    } else {
      failures.push(fromBoot.failure ?? '');
    }
  }

  const timerList = await jiffiesFromTimerList(join(procRoot, 'timer_list'), nowMs);
  if (timerList.value !== undefined) {
    const { value: jiffies, wallMs } = timerList.value;
    // A value above 2^32 can only come from a 64-bit kernel, whatever Node's arch says.
    if (options.wordBits === undefined && jiffies >= TWO_32) wordBits = 64;
    if (hz === undefined) {
      const uptime = await readUptime(join(procRoot, 'uptime'), nowMs);
      if (uptime.value !== undefined) {
        hz = fitHz(jiffies, uptime.value.value);
        hzMethod = 'fit-uptime';
        if (hz === undefined) {
          failures.push(`jiffies ${jiffies} at uptime ${uptime.value.value} s fits none or several of HZ 100, 250, 300, 1000`);
        }
      } else {
        failures.push(uptime.failure ?? '');
      }
    }
    if (hz !== undefined) return { hz, jiffies, wallMs, wordBits, method: { hz: hzMethod, jiffies: 'timer_list' } };
  } else {
    failures.push(timerList.failure ?? '');
    if (hz !== undefined) {
      const uptime = await readUptime(join(procRoot, 'uptime'), nowMs);
      if (uptime.value !== undefined) {
        const jiffies = jiffiesFromUptime(uptime.value.value, hz, wordBits);
        return { hz, jiffies, wallMs: uptime.value.wallMs, wordBits, method: { hz: hzMethod, jiffies: 'uptime' } };
      }
      failures.push(uptime.failure ?? '');
      throw new XtbanError(`cannot read the kernel clock: ${failures.join('; ')}`, {
        exitCode: ExitCode.system,
        hint: `${join(procRoot, 'timer_list')} (root) or ${join(procRoot, 'uptime')} must be readable`,
      });
    }
  }
  throw new XtbanError(`cannot determine the kernel's HZ: ${failures.join('; ')}`, {
    exitCode: ExitCode.system,
    hint:
      `run as root so ${join(procRoot, 'timer_list')} is readable, or make the kernel config available: ` +
      `\`modprobe configs\` for ${join(procRoot, 'config.gz')}, or install ${join(bootDir, `config-${release}`)}`,
  });
}

// HZ never changes while the machine runs: found once per process for the synchronous reading.
let cachedHz: { key: string; hz: number | undefined } | undefined;

// The kernel clock at once, without timer_list (root, and large on big machines): HZ from the kernel
// config, jiffies from uptime. For a ban that must judge, in the middle of a batch, whether the
// kernel still enforces an entry (its last stamp inside the list's window). undefined when HZ cannot
// be found: the caller then takes every entry as in force.
export function readKernelClockNow(options: { procRoot?: string; bootDir?: string; release?: string } = {}): KernelClock | undefined {
  const procRoot = options.procRoot ?? '/proc';
  const bootDir = options.bootDir ?? '/boot';
  const release = options.release ?? osRelease();
  const key = `${procRoot}\0${bootDir}\0${release}`;
  if (cachedHz?.key !== key) {
    let hz: number | undefined;
    try {
      hz = parseHz(gunzipSync(readFileSync(join(procRoot, 'config.gz'))).toString('latin1'));
    } catch {
      hz = undefined;
    }
    if (hz === undefined) {
      try {
        hz = parseHz(readFileSync(join(bootDir, `config-${release}`), 'latin1'));
      } catch {
        hz = undefined;
      }
    }
    cachedHz = { key, hz };
  }
  const hz = cachedHz.hz;
  if (hz === undefined) return undefined;
  try {
    const before = Date.now();
    const text = readFileSync(join(procRoot, 'uptime'), 'latin1');
    const after = Date.now();
    const m = /^(\d+(?:\.\d+)?) /.exec(text);
    if (m === null) return undefined;
    const wordBits = defaultWordBits();
    return { hz, jiffies: jiffiesFromUptime(Number(m[1]), hz, wordBits), wallMs: (before + after) / 2, wordBits, method: { hz: 'config', jiffies: 'uptime' } };
  } catch {
    return undefined;
  }
}
