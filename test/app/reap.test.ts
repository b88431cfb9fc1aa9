// runReap without root: the kernel fake (the real list rules, jiffies that follow the clock), the store
// in memory, time moved by fake timers.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { banInProcess } from '../../src/app/ban-pipeline.js';
import { runReap } from '../../src/app/reap.js';
import { parseConfigText } from '../../src/config/parse.js';
import { parseAddress } from '../../src/core/address.js';
import { parseSafelistText } from '../../src/core/safelist.js';
import { fakeContext } from '../helpers/fake-context.js';

const MINUTE = 60_000;

// The kernel fake and a store for one IPv4 jail with a one-hour window.
function world() {
  const config = parseConfigText('[safelist]\nown_addresses = false\n\n[jails.ssh]\nfamily = "ipv4"\nwindow = "1h"\n', 'reap.toml');
  const { context: ports, kernel, store, safelist } = fakeContext(config);
  const jail = config.jails[0];
  if (!jail) throw new Error('no jail');
  return { ports, kernel, store, jail, safelist };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('runReap', () => {
  it('removes what ran out and what became safelisted, keeps what packets keep alive, and copies their activity into the store', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.UTC(2026, 11, 2);
    vi.setSystemTime(start);
    const { ports, kernel, store, jail, safelist } = world();
    banInProcess(
      ports,
      jail,
      ['203.0.113.1', '203.0.113.2', '203.0.113.3'].map((text) => parseAddress(text)),
      { source: 'log', reason: null, permanent: false },
    );
    // 30 minutes on, the first keeps knocking (its entry is stamped by the --update rule).
    vi.setSystemTime(start + 30 * MINUTE);
    kernel.packet('xtban-ssh', '203.0.113.1');
    // The third is safelisted since.
    safelist.entries.push(...parseSafelistText('203.0.113.3\n', 'added'));
    vi.setSystemTime(start + 70 * MINUTE);
    const report = await runReap(ports, [jail], { dryRun: false });
    expect(report.removed.map((action) => [action.address, action.reason]).sort()).toEqual([
      ['203.0.113.2', 'stale'],
      ['203.0.113.3', 'safelisted'],
    ]);
    expect(kernel.entries('xtban-ssh')).toEqual(['203.0.113.1']);
    expect(store.get('ssh', '203.0.113.2')?.endReason).toBe('reaped');
    // The knocking address is still banned, and the store knows it was active at minute 30.
    const kept = store.get('ssh', '203.0.113.1');
    expect(kept?.endedAt).toBeNull();
    expect(Math.abs((kept?.lastActivity ?? 0) - (start + 30 * MINUTE))).toBeLessThan(1000);
    expect(report.errors).toEqual([]);
  });

  it('a dry run plans the same and writes nothing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.UTC(2026, 11, 2);
    vi.setSystemTime(start);
    const { ports, kernel, store, jail } = world();
    banInProcess(ports, jail, [parseAddress('203.0.113.2')], { source: 'log', reason: null, permanent: false });
    vi.setSystemTime(start + 70 * MINUTE);
    const report = await runReap(ports, [jail], { dryRun: true });
    expect(report.removed.map((action) => action.address)).toEqual(['203.0.113.2']);
    expect(kernel.entries('xtban-ssh')).toEqual(['203.0.113.2']);
    expect(store.get('ssh', '203.0.113.2')?.endedAt).toBeNull();
  });
});
