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
        if (source.type === 'list') return [];
        const where = `jails.${jail.name}.sources[${index}]`;
        const caveat = BUILTIN_FILTERS.get(source.filter)?.caveat;
        return [
          ...(caveat === undefined ? [] : [`${where}: filter ${source.filter}: ${caveat}`]),
          // A plain file's lines have no timestamp to tell the daemon's from the rest of a broken one.
          ...(source.type === 'file' && source.format === 'plain'
            ? [
                `${where}: format "plain" reads every line as the daemon's, but a daemon that writes a client's newline as it came (sshd -E does) lets the client write lines of its own: prefer syslog or the journal`,
              ]
            : []),
        ];
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
