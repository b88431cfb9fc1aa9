import type { Config } from '../core/domain.js';
import { jailLayout, type JailLayout } from '../core/layout.js';
import { openBanStore, type BanStore } from '../adapters/ban-store.js';
import { readModuleParameters, type ModuleParameters } from '../adapters/module-params.js';
import { procLists, PROC_LISTS_DIR, type RecentLists } from '../adapters/recent-lists.js';
import { loadSafelist } from '../adapters/safelist-source.js';
import type { Safelist } from '../core/safelist.js';
import type { KernelClock } from '../core/jiffies.js';
import { readKernelClock, readKernelClockNow } from '../adapters/kernel-clock.js';
import type { Logger } from '../logger.js';

// What the use cases that touch kernel lists take: the config they run against, a logger, the kernel's
// list capacity and lists, the jails' layouts, the clock, and the store. Nothing of a terminal: the
// CLI renders their reports, the daemon logs them.
export interface ListPorts {
  config: Config;
  log: Logger;
  parameters: ModuleParameters;
  layouts: Map<string, JailLayout>;
  lists: RecentLists;
  // The kernel clock now, to tell whether the kernel still enforces an entry; undefined when unknown.
  kernelClock(): KernelClock | undefined;
  // The kernel clock read in full (timer_list when it can): what reap and status judge stamps by.
  clock(): Promise<KernelClock>;
  // Opened on first use, closed by the caller through closeStore.
  store(): BanStore;
  closeStore(): void;
}

// And the safelist, for the use cases that admit or judge addresses (ban, restore, reap, status, serve,
// the daemon's sources). Checking the ruleset never reads it.
export interface Ports extends ListPorts {
  safelist: Safelist;
}

// Every jail's lists for this kernel's list capacity.
export function layoutsFor(config: Config, ipListTot: number): Map<string, JailLayout> {
  return new Map(config.jails.map((jail) => [jail.name, jailLayout(jail, ipListTot)]));
}

// Where the ports read and write: the state directory, the kernel's lists and its module parameters.
export interface PortsPlaces {
  stateDir: string;
  listsDirectory?: string;
  sysRoot?: string;
}

// The real ports for a loaded config: /proc/net/xt_recent, /sys's module parameters, the store in the
// state directory.
export async function listPortsFor(config: Config, log: Logger, places: PortsPlaces): Promise<ListPorts> {
  const parameters = await readModuleParameters(places.sysRoot ?? '/sys');
  let opened: BanStore | undefined;
  return {
    config,
    log,
    parameters,
    layouts: layoutsFor(config, parameters.ipListTot),
    lists: procLists(places.listsDirectory ?? PROC_LISTS_DIR),
    kernelClock: () => readKernelClockNow(),
    clock: () => readKernelClock(),
    store() {
      opened ??= openBanStore(places.stateDir);
      return opened;
    },
    closeStore() {
      opened?.close();
      opened = undefined;
    },
  };
}

// The same with the safelist read (its files and, when asked, this host's own addresses).
export async function portsFor(config: Config, log: Logger, places: PortsPlaces): Promise<Ports> {
  const [ports, safelist] = await Promise.all([listPortsFor(config, log, places), loadSafelist(config.safelist, config.source)]);
  return { ...ports, safelist };
}
