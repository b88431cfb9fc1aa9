import { loadConfig, resolveConfigPath } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { jailLayout, type JailLayout } from '../core/layout.js';
import { openBanStore, type BanStore } from '../adapters/ban-store.js';
import { resolveStateDir } from '../adapters/state-dir.js';
import { readModuleParameters, type ModuleParameters } from '../adapters/module-params.js';
import { procLists, PROC_LISTS_DIR, type RecentLists } from '../adapters/recent-lists.js';
import { loadSafelist } from '../adapters/safelist-source.js';
import type { Safelist } from '../core/safelist.js';
import type { KernelClock } from '../core/jiffies.js';
import { readKernelClockNow } from '../adapters/kernel-clock.js';
import { createLogger, type Logger } from '../logger.js';
import { createOutput, type Output } from './output.js';

// Options every command accepts (set on the program, read with optsWithGlobals).
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  logLevel?: string;
  logFormat?: string;
  stateDir?: string;
}

// What a command needs to start: its output and the config it runs against.
export interface CommandContext {
  out: Output;
  config: Config;
  log: Logger;
}

// Loads the config named by --config / XTBAN_CONFIG / the default path.
export async function commandContext(options: GlobalOptions): Promise<CommandContext> {
  const out = createOutput(options.json === true);
  const config = await loadConfig(resolveConfigPath(options.config), resolveStateDir(options.stateDir));
  return { out, config, log: createLogger(options.logLevel, 2, options.logFormat) };
}

// Every jail's lists for this kernel's list capacity.
export function layoutsFor(config: Config, ipListTot: number): Map<string, JailLayout> {
  return new Map(config.jails.map((jail) => [jail.name, jailLayout(jail, ipListTot)]));
}

// What commands that touch kernel lists need on top: capacity, the jails' lists, the store.
export interface ListsContext extends CommandContext {
  parameters: ModuleParameters;
  layouts: Map<string, JailLayout>;
  lists: RecentLists;
  // The kernel clock now, to tell whether the kernel still enforces an entry; undefined when unknown.
  kernelClock(): KernelClock | undefined;
  // Opened on first use, closed by the caller through closeStore.
  store(): BanStore;
  closeStore(): void;
}

// And the safelist, for the commands that admit or judge addresses (ban, restore, reap, status, serve,
// the daemon). `xtban check` only compares the ruleset and the lists, so it never reads the safelist: a
// missing safelist file does not turn fail2ban's actioncheck into a usage error.
export interface KernelContext extends ListsContext {
  safelist: Safelist;
}

export async function kernelContext(options: GlobalOptions, listsDirectory: string = PROC_LISTS_DIR, sysRoot = '/sys'): Promise<KernelContext> {
  return kernelContextFor(await commandContext(options), options, listsDirectory, sysRoot);
}

// The same for a config already loaded (the daemon reloads its config and logs on its own).
export async function kernelContextFor(base: CommandContext, options: GlobalOptions, listsDirectory: string = PROC_LISTS_DIR, sysRoot = '/sys'): Promise<KernelContext> {
  const [context, safelist] = await Promise.all([listsContextFor(base, options, listsDirectory, sysRoot), loadSafelist(base.config.safelist, base.config.source)]);
  return { ...context, safelist };
}

// Without the safelist: for `xtban check`.
export async function listsContext(options: GlobalOptions, listsDirectory: string = PROC_LISTS_DIR, sysRoot = '/sys'): Promise<ListsContext> {
  return listsContextFor(await commandContext(options), options, listsDirectory, sysRoot);
}

export async function listsContextFor(base: CommandContext, options: GlobalOptions, listsDirectory: string = PROC_LISTS_DIR, sysRoot = '/sys'): Promise<ListsContext> {
  const parameters = await readModuleParameters(sysRoot);
  let opened: BanStore | undefined;
  return {
    ...base,
    parameters,
    layouts: layoutsFor(base.config, parameters.ipListTot),
    lists: procLists(listsDirectory),
    kernelClock: () => readKernelClockNow(),
    store() {
      opened ??= openBanStore(resolveStateDir(options.stateDir));
      return opened;
    },
    closeStore() {
      opened?.close();
      opened = undefined;
    },
  };
}
