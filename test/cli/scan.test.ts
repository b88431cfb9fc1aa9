import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/program.js';
import { lineRanges } from '../../src/app/scan-range.js';
import { scratchDir } from '../helpers/scratch.js';

const dist = new URL('../../dist/main.js', import.meta.url).pathname;
const work = scratchDir('xtban-scan-');
const log = join(work, 'auth.log');
const config = join(work, 'xtban.toml');

// About 9 MB: failures from 600 addresses whose bursts cross the cut between threads, and other lines.
beforeAll(() => {
  const lines: string[] = [];
  for (let i = 0; i < 90_000; i++) {
    const second = Math.floor(i / 40);
    const stamp = `Nov 21 ${String(Math.floor(second / 3600) % 24).padStart(2, '0')}:${String(Math.floor(second / 60) % 60).padStart(2, '0')}:${String(second % 60).padStart(2, '0')}`;
    const address = i % 3 === 0 ? `2001:db8::${(i % 600).toString(16)}` : `198.51.100.${i % 200}`;
    lines.push(
      i % 5 === 4
        ? `${stamp} host sshd[${i}]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)`
        : `${stamp} host sshd[${i}]: Failed password for invalid user u${i} from ${address} port ${1024 + (i % 60000)} ssh2`,
    );
  }
  writeFileSync(log, `${lines.join('\n')}\n`);
  writeFileSync(config, '[jails.sshd]\n');
});

let stdout = '';
afterEach(() => vi.restoreAllMocks());

async function scanInProcess(...args: string[]): Promise<Record<string, unknown>> {
  stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  expect(await main(['node', 'xtban', '--config', config, 'scan', log, '--json', '--maxretry', '3', '--findtime', '1m', ...args])).toBe(0);
  vi.restoreAllMocks();
  return JSON.parse(stdout) as Record<string, unknown>;
}

// Everything but the timing.
const findings = ({ seconds, linesPerSecond, threads, ...rest }: Record<string, unknown>) => rest;

describe('scan across threads', () => {
  it('finds, counts and bans exactly as one pass does, whatever the number of threads', async () => {
    const one = await scanInProcess('--threads', '1');
    expect(one).toMatchObject({ lines: 90_000, matched: 72_000, missed: 18_000, threads: 1 });
    expect((one['wouldBan'] as unknown[]).length).toBeGreaterThan(100);
    // In-process the ranges run one after the other (the worker file exists only in dist/).
    const two = await scanInProcess('--threads', '2');
    expect(two['threads']).toBe(2);
    expect(findings(two)).toEqual(findings(one));
    // The built command runs real worker threads.
    const built = JSON.parse(
      execFileSync(process.execPath, [dist, '--config', config, 'scan', log, '--json', '--maxretry', '3', '--findtime', '1m', '--threads', '2'], {
        encoding: 'utf8',
      }),
    ) as Record<string, unknown>;
    expect(built['threads']).toBe(2);
    expect(findings(built)).toEqual(findings(one));
  });

  it('refuses a bad --threads with exit 2', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    for (const bad of ['0', 'two', '1.5', '65']) expect(await main(['node', 'xtban', '--config', config, 'scan', log, '--threads', bad])).toBe(2);
  });

  it('cuts files only at line starts and covers every byte once', async () => {
    const text = readFileSync(log);
    for (const parts of [1, 2, 3, 7]) {
      const ranges = await lineRanges(log, text.length, parts);
      expect(ranges[0]?.start).toBe(0);
      expect(ranges.at(-1)?.end).toBe(text.length);
      ranges.forEach((range, index) => {
        if (index > 0) expect(text[range.start - 1]).toBe(10);
        expect(range.end).toBeGreaterThan(range.start);
        if (index > 0) expect(range.start).toBe(ranges[index - 1]?.end);
      });
      expect(ranges.length).toBe(parts);
    }
    // One long line without a newline: no cut can be made inside it.
    const long = join(work, 'long.log');
    writeFileSync(long, 'x'.repeat(300_000));
    expect(await lineRanges(long, 300_000, 4)).toEqual([{ start: 0, end: 300_000 }]);
  });
});

describe('scan and messages too long to match', () => {
  it('matches none of them, counts them, and a padded user name cannot get its address banned', async () => {
    const padded = join(work, 'padded.log');
    const prefix = 'Nov 21 12:00:00 host sshd[7]: ';
    // The user name puts " from 192.0.2.7 port 22" exactly at the old cut, 4096 characters into the message.
    const head = 'Invalid user x';
    const injected = ' from 192.0.2.7 port 22';
    const user = `x${'a'.repeat(4096 - head.length - injected.length)}${injected}`;
    const lines = [0, 1, 2, 3, 4].map((i) => `${prefix}Invalid user ${user} from 203.0.113.5 port ${4000 + i}`);
    lines.push(`${prefix}Invalid user bob from 198.51.100.1 port 22`);
    writeFileSync(padded, `${lines.join('\n')}\n`);
    stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    expect(await main(['node', 'xtban', '--config', config, 'scan', padded, '--json', '--maxretry', '3', '--threads', '1'])).toBe(0);
    const json = JSON.parse(stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ lines: 6, matched: 1, missed: 0, tooLong: 5, wouldBan: [] });
    expect(json['addresses']).toEqual([{ address: '198.51.100.1', matches: 1, wouldBan: false }]);
    stdout = '';
    expect(await main(['node', 'xtban', '--config', config, 'scan', padded, '--threads', '1'])).toBe(0);
    vi.restoreAllMocks();
    expect(stdout).toContain(
      '1 matched (1 failed attempts, 0 more lines of attempts counted once), 0 ignored, 0 missed, 5 too long to match (over 4096 characters)',
    );
    expect(stdout).not.toContain('192.0.2.7');
  });
});
