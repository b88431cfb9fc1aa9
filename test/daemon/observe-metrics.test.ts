// A Prometheus scrape of the daemon reads the lists and the store and writes nothing; `xtban status`
// (collectStatus with copyActivity) still copies the kernel's last-seen times into the store.
import { describe, expect, it } from 'vitest';
import { openBanStore, type BanStore } from '../../src/adapters/ban-store.js';
import { layoutsFor, type KernelContext } from '../../src/cli/context.js';
import { createOutput } from '../../src/cli/output.js';
import { collectStatus, readClock } from '../../src/app/status.js';
import { parseConfigText } from '../../src/config/parse.js';
import type { KernelClock } from '../../src/core/jiffies.js';
import { observeMetrics } from '../../src/daemon/daemon.js';
import { createMetrics } from '../../src/daemon/metrics.js';
import { createLogger } from '../../src/logger.js';

const PROC = new URL('../../fixtures/proc/', import.meta.url).pathname;

// Every method of the store that changes it.
const WRITES = new Set([
  'ban',
  'unban',
  'flush',
  'endWhere',
  'endIfOver',
  'touch',
  'note',
  'enqueue',
  'acknowledge',
  'settle',
  'forgetDeadLetters',
  'setMeta',
  'markDelivered',
]);

function recording(store: BanStore): { store: BanStore; writes: string[] } {
  const writes: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof key === 'string' && WRITES.has(key)) writes.push(key);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, writes };
}

// One jail, one ban in the store whose last activity is two hours old, and the kernel's ban list
// holding the address with a stamp a second before the clock.
function world(clock: KernelClock) {
  const config = parseConfigText('[jails.ssh]\nwindow = "1h"\nfamily = "ipv4"\n', 'metrics.toml');
  const layouts = layoutsFor(config, 100);
  const base = openBanStore(':memory:');
  const bannedAt = clock.wallMs - 2 * 3_600_000;
  base.ban([{ jail: 'ssh', address: '192.0.2.8', family: 4, source: 'cli', reason: null, permanent: false }], () => [3600], bannedAt);
  // Made at first use, as the daemon's store has long had it.
  base.instance();
  const { store, writes } = recording(base);
  const slots = [...layouts.values()].flatMap((layout) => layout.slots);
  const texts = new Map(
    slots.map((slot) => [
      slot.name,
      slot.role === 'ban' ? `src=192.0.2.8 ttl: 64 last_seen: ${clock.jiffies - clock.hz} oldest_pkt: 1 ${clock.jiffies - clock.hz}\n` : '',
    ]),
  );
  const context: KernelContext = {
    out: createOutput(true),
    config,
    log: createLogger('silent'),
    parameters: { ipListTot: 100, ipPktListTot: 0, ipListHashSize: 128, ipListPerms: 0o600, ipListUid: 0, ipListGid: 0, source: 'test', loading: 'builtin' },
    layouts,
    lists: {
      directory: '/fake',
      names: async () => [...texts.keys()],
      read: async (list) => texts.get(list),
      readNow: (list) => texts.get(list),
      write: () => {
        throw new Error('no list write expected');
      },
      writeMany: () => {
        throw new Error('no list write expected');
      },
    },
    safelist: { entries: [] },
    store: () => store,
    closeStore: () => undefined,
    kernelClock: () => undefined,
    clock: async () => clock,
  };
  return { context, store: base, writes, bannedAt };
}

describe('metrics and the store', () => {
  it('a scrape (observeMetrics) writes nothing to the store, and still reports the lists', async () => {
    const { context, store, writes, bannedAt } = world(await readClock(undefined));
    const metrics = createMetrics();
    await observeMetrics(metrics, context);
    expect(writes).toEqual([]);
    expect(store.get('ssh', '192.0.2.8')?.lastActivity).toBe(bannedAt);
    expect(await metrics.registry.metrics()).toMatch(/xtban_list_entries\{jail="ssh",list="xtban-ssh"\} 1/);
  });

  it('collectStatus copies kernel activity only with copyActivity, as `xtban status` asks', async () => {
    const clock = await readClock(PROC);
    const quiet = world(clock);
    await collectStatus(quiet.context, quiet.context.config.jails, { allLists: true, live: true, copyActivity: false, clockDir: PROC });
    expect(quiet.writes).toEqual([]);
    expect(quiet.store.get('ssh', '192.0.2.8')?.lastActivity).toBe(quiet.bannedAt);

    const copying = world(clock);
    await collectStatus(copying.context, copying.context.config.jails, { allLists: true, live: true, copyActivity: true, clockDir: PROC });
    expect(copying.writes).toEqual(['touch']);
    expect(copying.store.get('ssh', '192.0.2.8')?.lastActivity).toBeGreaterThan(clock.wallMs - 2000);
  });
});
