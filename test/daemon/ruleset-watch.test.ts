import { describe, expect, it } from 'vitest';
import { fullCheckDue, RulesetWatch } from '../../src/daemon/ruleset-watch.js';

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

  it('every tenth check when changes are not watched, every sixtieth when they are', () => {
    const due = (watching: boolean) => Array.from({ length: 120 }, (_, count) => count).filter((count) => fullCheckDue({ count, watching, changed: false }));
    expect(due(false)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]);
    expect(due(true)).toEqual([0, 60]);
  });
});

describe('RulesetWatch', () => {
  it('calls back for each report of the monitor, and stops it', async () => {
    let changes = 0;
    const ends: string[] = [];
    // A stand-in for xtables-monitor: two reports, a pause, one more, then it waits to be stopped.
    const monitor = [process.execPath, '-e', 'console.log("EVENT: -4 -t filter -F"); setTimeout(() => console.log("EVENT: -4 -t filter -X xtban-ssh"), 300); setInterval(() => {}, 1000)'];
    const watch = new RulesetWatch(() => changes++, (why) => ends.push(why), monitor);
    watch.start();
    expect(watch.watching).toBe(true);
    await waitFor(() => changes >= 2);
    await watch.stop();
    expect(watch.watching).toBe(false);
    expect(ends).toEqual([]);
  });

  it('says why when the monitor ends, and is no longer watching', async () => {
    const ends: string[] = [];
    const monitor = [process.execPath, '-e', 'process.stderr.write("netlink: Operation not permitted\\n"); process.exit(1)'];
    const watch = new RulesetWatch(() => undefined, (why) => ends.push(why), monitor);
    watch.start();
    await waitFor(() => ends.length > 0);
    expect(ends[0]).toContain('exit 1');
    expect(ends[0]).toContain('netlink: Operation not permitted');
    expect(watch.watching).toBe(false);
    await watch.stop();
  });
});
