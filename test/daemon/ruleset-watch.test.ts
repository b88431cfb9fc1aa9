import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '../helpers/scratch.js';
import { fullCheckDue, RulesetWatch, rulesetChangesUnreported } from '../../src/daemon/ruleset-watch.js';

const waitFor = async (condition: () => boolean, limitMs = 5000): Promise<void> => {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > limitMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('when the daemon compares the whole ruleset', () => {
  it('at once after a reported change, whatever the count', () => {
    expect(fullCheckDue({ count: 7, watching: true, changed: true })).toBe(true);
    expect(fullCheckDue({ count: 7, watching: false, changed: true })).toBe(true);
  });

  it('every tenth check when changes are not watched (or not settled), every sixtieth when they are', () => {
    const due = (watching: boolean) => Array.from({ length: 120 }, (_, count) => count).filter((count) => fullCheckDue({ count, watching, changed: false }));
    expect(due(false)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]);
    expect(due(true)).toEqual([0, 60]);
  });
});

describe('whether ruleset changes can be watched', () => {
  it('never with the legacy backend, and says why', async () => {
    expect(await rulesetChangesUnreported('legacy')).toBe('the legacy backend reports no changes');
  });

  it('with the nft backend when nft can be run, and says how to install it when it cannot', async () => {
    // Without nft on the PATH (an empty directory), whatever this machine has.
    const path = process.env['PATH'];
    process.env['PATH'] = scratchDir('xtban-no-nft-');
    try {
      expect(await rulesetChangesUnreported('nft')).toBe('nft is not installed (Debian: apt-get install nftables)');
    } finally {
      process.env['PATH'] = path;
    }
    // With a stand-in nft that answers --version (an executable script first on the PATH).
    const bin = scratchDir('xtban-nft-');
    writeFileSync(join(bin, 'nft'), '#!/bin/sh\necho "nftables v1.0.6 (Lester Gooch #5)"\n', { mode: 0o755 });
    process.env['PATH'] = `${bin}:${path ?? ''}`;
    try {
      expect(await rulesetChangesUnreported('nft')).toBeUndefined();
    } finally {
      process.env['PATH'] = path;
    }
  });
});

describe('RulesetWatch', () => {
  it('calls back once reports have settled, not for each, and stops the monitor', async () => {
    const changes: number[] = [];
    const ends: string[] = [];
    // A stand-in for nft monitor: a burst of five reports 20 ms apart, then one more 600 ms later,
    // then it waits to be stopped.
    const monitor = [
      process.execPath,
      '-e',
      'let n = 0; const burst = setInterval(() => { console.log("EVENT: -4 -t filter -F"); if (++n === 5) clearInterval(burst); }, 20); setTimeout(() => console.log("EVENT: -4 -t filter -X xtban-ssh"), 700); setInterval(() => {}, 1000)',
    ];
    const started = Date.now();
    const watch = new RulesetWatch(
      () => changes.push(Date.now() - started),
      (why) => ends.push(why),
      monitor,
      150,
    );
    watch.start();
    expect(watch.watching).toBe(true);
    await waitFor(() => watch.changing);
    expect(changes).toEqual([]);
    await waitFor(() => changes.length === 2);
    expect(watch.changing).toBe(false);
    // One call for the burst, after it went quiet; one for the late report.
    expect(changes[1]! - changes[0]!).toBeGreaterThan(300);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(changes).toHaveLength(2);
    await watch.stop();
    expect(watch.watching).toBe(false);
    expect(ends).toEqual([]);
  });

  it('says why when the monitor ends, and is no longer watching', async () => {
    const ends: string[] = [];
    const monitor = [process.execPath, '-e', 'process.stderr.write("netlink: Operation not permitted\\n"); process.exit(1)'];
    const watch = new RulesetWatch(
      () => undefined,
      (why) => ends.push(why),
      monitor,
    );
    watch.start();
    await waitFor(() => ends.length > 0);
    expect(ends[0]).toContain('exit 1');
    expect(ends[0]).toContain('netlink: Operation not permitted');
    expect(ends[0]).toContain('restarting in 10 s');
    expect(watch.watching).toBe(false);
    await watch.stop();
  });

  it('restarts a monitor that ends, waiting twice as long after each quick end', async () => {
    const ends: string[] = [];
    const monitor = [process.execPath, '-e', 'process.exit(3)'];
    const watch = new RulesetWatch(
      () => undefined,
      (why) => ends.push(why),
      monitor,
      150,
      40,
    );
    watch.start();
    await waitFor(() => ends.length >= 3, 10_000);
    await watch.stop();
    expect(ends.slice(0, 3).map((why) => /restarting in ([\d.]+) s/.exec(why)?.[1])).toEqual(['0.04', '0.08', '0.16']);
  });
});
