import { ExitCode, XtbanError } from '../core/errors.js';
import type { ConfigCheckOptions, ConfigShowOptions } from './commands.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { builtinFiltersJson, effectiveConfig, effectiveConfigToml } from '../config/show.js';
import { createOutput } from './output.js';
import { BUILTIN_FILTERS } from '../core/filters/index.js';
import { loadSafelist } from '../adapters/safelist-source.js';

// `xtban config check`: validates and exits 0 or 2, printing every problem with its key path.
export async function configCheckCommand(options: ConfigCheckOptions): Promise<number> {
  const out = createOutput(options.json === true);
  const path = resolveConfigPath(options.config);
  try {
    const config = await loadConfig(path);
    // What the commands that judge addresses will read too: a safelist file that is missing or broken fails them.
    await loadSafelist(config.safelist, config.source);
    const caveats = config.jails.flatMap((jail) =>
      jail.sources.flatMap((source, index) => {
        const caveat = source.type === 'list' ? undefined : BUILTIN_FILTERS.get(source.filter)?.caveat;
        return caveat === undefined ? [] : [`jails.${jail.name}.sources[${index}]: filter ${source.type === 'list' ? '' : source.filter}: ${caveat}`];
      }),
    );
    for (const caveat of caveats) out.note(`warning: ${caveat}`);
    out.result({ ok: true, source: path, jails: config.jails.map((jail) => jail.name), warnings: caveats });
    out.line(`ok: ${path} is valid (${config.jails.length} jail${config.jails.length === 1 ? '' : 's'}: ${config.jails.map((jail) => jail.name).join(', ')})`);
    return ExitCode.ok;
  } catch (error) {
    if (!(error instanceof XtbanError) || !options.json) throw error;
    out.result({ ok: false, source: path, error: error.message, hint: error.hint });
    return error.exitCode;
  }
}

// `xtban config show`: the effective config, defaults included, as TOML or JSON.
export async function configShowCommand(options: ConfigShowOptions): Promise<number> {
  const out = createOutput(options.json === true);
  const config = await loadConfig(resolveConfigPath(options.config));
  if (out.json) out.result({ ...effectiveConfig(config), builtin_filters: builtinFiltersJson() });
  else process.stdout.write(effectiveConfigToml(config));
  return ExitCode.ok;
}
