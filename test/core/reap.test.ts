import { describe, expect, it } from 'vitest';
import { layoutsFor } from '../../src/cli/context.js';
import { parseConfigText } from '../../src/config/parse.js';
import { planBan, type BanRecord } from '../../src/core/bans.js';
import type { KernelClock } from '../../src/core/jiffies.js';
import { parseRecentList } from '../../src/core/proc-format.js';
import { planReap } from '../../src/core/reap.js';
import { parseSafelistText } from '../../src/core/safelist.js';

const config = parseConfigText('[jails.ssh]\nwindow = "60s"\nfamily = "ipv4"\n', 'reap.toml');
const jail = config.jails[0];
const slot = layoutsFor(config, 100).get('ssh')?.slots[0];
if (!jail || !slot) throw new Error('config');
// HZ 250: jiffies J is (clock.jiffies - J) / 250 seconds old.
const clock: KernelClock = { hz: 250, jiffies: 5_000_000, wallMs: 10_000_000, wordBits: 64, method: { hz: 'test', jiffies: 'test' } };
const ago = (seconds: number) => clock.jiffies - seconds * 250;
const line = (address: string, stamps: number[]) => `src=${address} ttl: 0 last_seen: ${stamps.at(-1)} oldest_pkt: ${stamps.length} ${stamps.join(', ')}`;
const entries = parseRecentList(
  `${[
    line('192.0.2.1', [ago(120)]), // stale
    line('192.0.2.2', [ago(5)]), // live
    line('192.0.2.3', [ago(300), ago(1)]), // refreshed just now
    line('192.0.2.4', [ago(600)]), // permanent, stale in the kernel
    line('192.0.2.5', [ago(2)]), // safelisted
    line('192.0.2.6', [ago(90)]), // stale in the kernel, live in the store
  ].join('\n')}\n`,
);
const ban = (address: string, at: number, extra: Partial<BanRecord> = {}): BanRecord => ({
  ...planBan(undefined, { jail: 'ssh', address, family: 4, source: 'cli', reason: null, permanent: false }, [60], at).record,
  ...extra,
});

describe('planReap', () => {
  it('removes exactly the stale and safelisted entries; keeps live and permanent ones', () => {
    const bans = [
      ban('192.0.2.1', clock.wallMs - 120_000),
      ban('192.0.2.4', clock.wallMs - 600_000, { permanent: true }),
      ban('192.0.2.6', clock.wallMs - 10_000),
    ];
    const safelist = { entries: parseSafelistText('192.0.2.5\n', 'safe') };
    const plan = planReap([{ jail, slot, entries }], bans, safelist, clock, clock.wallMs);
    expect(plan.remove.map((action) => `${action.address} ${action.reason}`)).toEqual(['192.0.2.1 stale', '192.0.2.5 safelisted']);
    expect(plan.remove[0]?.lastSeen).toBe(ago(120));
    expect(plan.refresh.map((action) => action.address)).toEqual(['192.0.2.4', '192.0.2.6']);
    expect(plan.kept).toEqual({ live: 3, permanent: 1 });
    expect(plan.end).toEqual([{ jail: 'ssh', address: '192.0.2.1' }]);
  });

  it('removes nothing from a list whose entries are all inside the window', () => {
    const fresh = parseRecentList(`${line('192.0.2.9', [ago(59)])}\n`);
    expect(planReap([{ jail, slot, entries: fresh }], [], { entries: [] }, clock, clock.wallMs).remove).toEqual([]);
  });
});
