import { loadConfig, resolveConfigPath } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../logger.js';
import { createOutput, type Output } from './output.js';

// Options every command accepts (set on the program, read with optsWithGlobals).
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  logLevel?: string;
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
  const config = await loadConfig(resolveConfigPath(options.config));
  return { out, config, log: createLogger(options.logLevel) };
}
