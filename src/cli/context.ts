import { loadConfig, resolveConfigPath } from '../config/load.js';
import type { Config } from '../core/domain.js';
import { resolveStateDir } from '../adapters/state-dir.js';
import { PROC_LISTS_DIR } from '../adapters/recent-lists.js';
import { layoutsFor, listPortsFor, portsFor, type ListPorts, type Ports } from '../app/ports.js';
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

// What commands that touch kernel lists take: the use cases' ports, and the terminal.
export type ListsContext = ListPorts & CommandContext;

// And the safelist, for the commands that admit or judge addresses (ban, restore, reap, status, serve,
// the daemon). `xtban check` only compares the ruleset and the lists, so it never reads the safelist: a
// missing safelist file does not turn fail2ban's actioncheck into a usage error.
export type KernelContext = Ports & CommandContext;

export { layoutsFor };

export async function kernelContext(options: GlobalOptions, listsDirectory: string = PROC_LISTS_DIR, sysRoot = '/sys'): Promise<KernelContext> {
  return kernelContextFor(await commandContext(options), options, listsDirectory, sysRoot);
}

// The same for a config already loaded.
export async function kernelContextFor(
  base: CommandContext,
  options: GlobalOptions,
  listsDirectory: string = PROC_LISTS_DIR,
  sysRoot = '/sys',
): Promise<KernelContext> {
  return { ...(await portsFor(base.config, base.log, { stateDir: resolveStateDir(options.stateDir), listsDirectory, sysRoot })), out: base.out };
}

// Without the safelist: for `xtban check`.
export async function listsContext(options: GlobalOptions, listsDirectory: string = PROC_LISTS_DIR, sysRoot = '/sys'): Promise<ListsContext> {
  const base = await commandContext(options);
  return { ...(await listPortsFor(base.config, base.log, { stateDir: resolveStateDir(options.stateDir), listsDirectory, sysRoot })), out: base.out };
}
