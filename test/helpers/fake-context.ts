import { openBanStore, type BanStore } from '../../src/adapters/ban-store.js';
import type { RecentLists } from '../../src/adapters/recent-lists.js';
import { layoutsFor } from '../../src/app/ports.js';
import type { KernelContext } from '../../src/cli/context.js';
import { createOutput } from '../../src/cli/output.js';
import type { Config } from '../../src/core/domain.js';
import type { SafeEntry } from '../../src/core/safelist.js';
import { createLogger } from '../../src/logger.js';
import { fakeKernel, type FakeKernel } from './fake-kernel.js';

// A context the ban paths take, without root: the kernel fake with every list of every jail made (as
// apply would), an in-memory store, and the fake's clock. `lists` stands between them and the kernel
// when a test watches the writes.
export function fakeContext(
  config: Config,
  options: {
    ipListTot?: number;
    store?: BanStore;
    safelist?: SafeEntry[];
    lists?: (kernel: FakeKernel, safelist: { entries: SafeEntry[] }) => RecentLists;
  } = {},
): { context: KernelContext; kernel: FakeKernel; store: BanStore; safelist: { entries: SafeEntry[] } } {
  const ipListTot = options.ipListTot ?? 100;
  const layouts = layoutsFor(config, ipListTot);
  const kernel = fakeKernel(ipListTot);
  for (const layout of layouts.values()) for (const slot of layout.slots) kernel.create(slot.name);
  const store = options.store ?? openBanStore(':memory:');
  const safelist = { entries: options.safelist ?? [] };
  const context: KernelContext = {
    out: createOutput(true),
    config,
    log: createLogger('silent'),
    parameters: { ipListTot, ipPktListTot: 0, ipListHashSize: 128, ipListPerms: 0o600 } as KernelContext['parameters'],
    layouts,
    lists: options.lists ? options.lists(kernel, safelist) : kernel,
    safelist,
    store: () => store,
    closeStore: () => undefined,
    kernelClock: () => kernel.clock(),
    clock: async () => kernel.clock(),
  };
  return { context, kernel, store, safelist };
}
