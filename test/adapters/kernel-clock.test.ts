// readKernelClock against the captured fixture directory and against doctored copies of it.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readKernelClock, readKernelClockNow } from '../../src/adapters/kernel-clock.js';
import { ExitCode, XtbanError } from '../../src/core/errors.js';
import { ageSeconds, stampToWallMs } from '../../src/core/jiffies.js';

const PROC = fileURLToPath(new URL('../../fixtures/proc/', import.meta.url));
const NO_BOOT = { bootDir: '/nonexistent/xtban-test-boot', release: 'none' };

let dir: string;
let captured: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xtban-clock-'));
  captured = Number((await readFile(join(PROC, 'captured-at'), 'latin1')).trim());
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<XtbanError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof XtbanError) return error;
    throw error;
  }
  throw new Error('expected an XtbanError, the promise resolved');
}

describe('readKernelClock on the captured fixture', () => {
  it('gives HZ 250 from config.gz and the captured jiffies from timer_list', async () => {
    const clock = await readKernelClock({ procRoot: PROC, ...NO_BOOT, nowMs: () => captured });
    expect(clock).toEqual({
      hz: 250,
      jiffies: 4294974736,
      wallMs: 1795228676443,
      wordBits: 64,
      method: { hz: 'config.gz', jiffies: 'timer_list' },
    });
    // 192.0.2.10 in fixtures/proc/net/xt_recent/ipv4 was last seen at 4294973334.
    expect(ageSeconds(clock, 4294973334)).toBe(5.608);
    expect(new Date(stampToWallMs(clock, 4294973334)).toISOString()).toBe('2026-11-21T02:37:50.835Z');
  });

  it('takes the wall clock at the midpoint of the read that found the jiffies line', async () => {
    const times = [1000, 1010];
    const clock = await readKernelClock({ procRoot: PROC, ...NO_BOOT, nowMs: () => times.shift() ?? 99_999 });
    expect(clock.wallMs).toBe(1005);
    expect(times).toEqual([]);
  });

  it('defaults wordBits from the architecture, and a value above 2^32 proves a 64-bit kernel', async () => {
    const clock = await readKernelClock({ procRoot: PROC, ...NO_BOOT });
    expect(clock.wordBits).toBe(64);
    const forced = await readKernelClock({ procRoot: PROC, ...NO_BOOT, wordBits: 32 });
    expect(forced.wordBits).toBe(32);
  });
});

describe('HZ fallbacks', () => {
  it('uses <bootDir>/config-<release> when config.gz is missing', async () => {
    await copyFile(join(PROC, 'timer_list'), join(dir, 'timer_list'));
    const boot = join(dir, 'boot');
    await mkdir(boot);
    await writeFile(join(boot, 'config-6.18.0-test'), '# CONFIG_HZ_250 is not set\nCONFIG_HZ_300=y\nCONFIG_HZ=300\nCONFIG_HZ_PERIODIC=n\n');
    const clock = await readKernelClock({ procRoot: dir, bootDir: boot, release: '6.18.0-test', nowMs: () => 7 });
    expect(clock).toEqual({ hz: 300, jiffies: 4294974736, wallMs: 7, wordBits: 64, method: { hz: 'boot-config', jiffies: 'timer_list' } });
  });

  it('prefers config.gz over the boot config', async () => {
    await copyFile(join(PROC, 'timer_list'), join(dir, 'timer_list'));
    await copyFile(join(PROC, 'config.gz'), join(dir, 'config.gz'));
    await writeFile(join(dir, 'config-r'), 'CONFIG_HZ=1000\n');
    const clock = await readKernelClock({ procRoot: dir, bootDir: dir, release: 'r' });
    expect(clock.hz).toBe(250);
    expect(clock.method.hz).toBe('config.gz');
  });

  it('skips a config.gz that is not gzip or has no CONFIG_HZ line', async () => {
    await copyFile(join(PROC, 'timer_list'), join(dir, 'timer_list'));
    await writeFile(join(dir, 'config.gz'), 'CONFIG_HZ=100\n');
    await writeFile(join(dir, 'config-r'), 'CONFIG_HZ=1000\n');
    expect((await readKernelClock({ procRoot: dir, bootDir: dir, release: 'r' })).hz).toBe(1000);
    await writeFile(join(dir, 'config.gz'), gzipSync('CONFIG_HZ_250=y\n'));
    expect((await readKernelClock({ procRoot: dir, bootDir: dir, release: 'r' })).hz).toBe(1000);
  });

  it('fits HZ from timer_list jiffies and uptime when no config is available', async () => {
    await copyFile(join(PROC, 'timer_list'), join(dir, 'timer_list'));
    await copyFile(join(PROC, 'uptime'), join(dir, 'uptime'));
    const clock = await readKernelClock({ procRoot: dir, ...NO_BOOT, nowMs: () => 42 });
    expect(clock).toEqual({ hz: 250, jiffies: 4294974736, wallMs: 42, wordBits: 64, method: { hz: 'fit-uptime', jiffies: 'timer_list' } });
  });

  it('refuses an ambiguous fit (uptime near 300 s) with a hint', async () => {
    await writeFile(join(dir, 'timer_list'), 'now at 1 nsecs\njiffies: 4294967300\n');
    await writeFile(join(dir, 'uptime'), '300.00 10.00\n');
    const error = await rejection(readKernelClock({ procRoot: dir, ...NO_BOOT }));
    expect(error.exitCode).toBe(ExitCode.system);
    expect(error.message).toContain('jiffies 4294967300 at uptime 300 s fits none or several of HZ 100, 250, 300, 1000');
    expect(error.hint).toContain('modprobe configs');
  });

  it('says how to fix it when HZ cannot be found at all', async () => {
    await copyFile(join(PROC, 'uptime'), join(dir, 'uptime'));
    const error = await rejection(readKernelClock({ procRoot: dir, bootDir: join(dir, 'boot'), release: '6.18.0-x' }));
    expect(error.exitCode).toBe(ExitCode.system);
    expect(error.message).toBe(
      `cannot determine the kernel's HZ: ${join(dir, 'config.gz')}: ENOENT; ${join(dir, 'boot', 'config-6.18.0-x')}: ENOENT; ` +
        `${join(dir, 'timer_list')}: ENOENT`,
    );
    expect(error.hint).toBe(
      `run as root so ${join(dir, 'timer_list')} is readable, or make the kernel config available: ` +
        `\`modprobe configs\` for ${join(dir, 'config.gz')}, or install ${join(dir, 'boot', 'config-6.18.0-x')}`,
    );
  });
});

describe('jiffies fallbacks', () => {
  it('computes jiffies from uptime when timer_list is missing', async () => {
    await copyFile(join(PROC, 'config.gz'), join(dir, 'config.gz'));
    await copyFile(join(PROC, 'uptime'), join(dir, 'uptime'));
    const times = [2000, 2002];
    const clock = await readKernelClock({ procRoot: dir, ...NO_BOOT, nowMs: () => times.shift() ?? 0 });
    // 2^32 - 300*250 + floor(330.01 * 250): 62 jiffies ahead of the timer_list value (jiffies lag uptime).
    expect(clock).toEqual({ hz: 250, jiffies: 4294974798, wallMs: 2001, wordBits: 64, method: { hz: 'config.gz', jiffies: 'uptime' } });
  });

  it('computes 32-bit jiffies from uptime modulo 2^32', async () => {
    await copyFile(join(PROC, 'config.gz'), join(dir, 'config.gz'));
    await copyFile(join(PROC, 'uptime'), join(dir, 'uptime'));
    const clock = await readKernelClock({ procRoot: dir, ...NO_BOOT, wordBits: 32 });
    expect(clock.jiffies).toBe(7502);
    expect(clock.wordBits).toBe(32);
  });

  it('falls back when timer_list cannot be read (a directory: EISDIR) or has no jiffies line', async () => {
    await copyFile(join(PROC, 'config.gz'), join(dir, 'config.gz'));
    await copyFile(join(PROC, 'uptime'), join(dir, 'uptime'));
    await mkdir(join(dir, 'timer_list'));
    expect((await readKernelClock({ procRoot: dir, ...NO_BOOT })).method).toEqual({ hz: 'config.gz', jiffies: 'uptime' });
    await rm(join(dir, 'timer_list'), { recursive: true });
    await writeFile(join(dir, 'timer_list'), 'Timer List Version: v0.10\n  .last_jiffies   : 4294974736\n');
    expect((await readKernelClock({ procRoot: dir, ...NO_BOOT })).method.jiffies).toBe('uptime');
  });

  it('fails with both failures named when neither timer_list nor uptime can be read', async () => {
    await copyFile(join(PROC, 'config.gz'), join(dir, 'config.gz'));
    const error = await rejection(readKernelClock({ procRoot: dir, ...NO_BOOT }));
    expect(error.exitCode).toBe(ExitCode.system);
    expect(error.message).toBe(`cannot read the kernel clock: ${join(dir, 'timer_list')}: ENOENT; ${join(dir, 'uptime')}: ENOENT`);
  });
});

describe('reading timer_list', () => {
  it('uses the first jiffies line even when it straddles a read chunk, and ignores .last_jiffies', async () => {
    await copyFile(join(PROC, 'config.gz'), join(dir, 'config.gz'));
    const line = 'jiffies: 4294974736\n';
    const filler = '  .last_jiffies   : 1\n';
    let head = 'Timer List Version: v0.10\n';
    while (head.length + filler.length < 65536 - 8) head += filler;
    head += `${'x'.repeat(65536 - 8 - head.length - 1)}\n`;
    expect(head.length).toBe(65536 - 8);
    await writeFile(join(dir, 'timer_list'), `${head}${line}jiffies: 1\n`);
    const clock = await readKernelClock({ procRoot: dir, ...NO_BOOT });
    expect(clock.jiffies).toBe(4294974736);
  });

  it('stops reading at the first jiffies line (a FIFO that never reaches EOF)', async () => {
    await copyFile(join(PROC, 'config.gz'), join(dir, 'config.gz'));
    const fifo = join(dir, 'timer_list');
    execFileSync('mkfifo', [fifo]);
    const full = await readFile(join(PROC, 'timer_list'), 'latin1');
    const head = full.slice(0, full.indexOf('\njiffies: ') + '\njiffies: 4294974736\n'.length);
    const reading = readKernelClock({ procRoot: dir, ...NO_BOOT });
    const writer = await open(fifo, 'w');
    try {
      await writer.write(head);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('readKernelClock kept reading past the jiffies line')), 5000);
      });
      const clock = await Promise.race([reading, timeout]);
      clearTimeout(timer);
      expect(clock.jiffies).toBe(4294974736);
      expect(clock.method.jiffies).toBe('timer_list');
    } finally {
      await writer.close();
    }
  });
});

describe('readKernelClockNow, for a ban that must judge an entry in the middle of a batch', () => {
  it('agrees with readKernelClock to within a few jiffies: HZ from config.gz, jiffies from uptime', async () => {
    const now = readKernelClockNow({ procRoot: PROC, ...NO_BOOT });
    const full = await readKernelClock({ procRoot: PROC, ...NO_BOOT, nowMs: () => captured });
    expect(now?.hz).toBe(250);
    expect(now?.method).toEqual({ hz: 'config', jiffies: 'uptime' });
    // uptime has centiseconds: a few jiffies apart at most from timer_list's, taken at the same moment.
    expect(Math.abs((now?.jiffies ?? 0) - full.jiffies)).toBeLessThan(250);
  });

  it('is undefined when neither config.gz nor the boot config gives HZ: every entry then counts as in force', async () => {
    await copyFile(join(PROC, 'uptime'), join(dir, 'uptime'));
    expect(readKernelClockNow({ procRoot: dir, ...NO_BOOT })).toBeUndefined();
  });
});
