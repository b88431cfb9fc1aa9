import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, XtbanError } from '../core/errors.js';
import type { Config } from '../core/domain.js';
import { makeStateDir } from '../adapters/state-dir.js';
import { writeFileAtomic } from '../adapters/atomic-file.js';
import { packageVersion } from '../version.js';

export const DEFAULT_CONFIG_PATH = '/etc/xtban/xtban.toml';

// --config wins over XTBAN_CONFIG, which wins over the default path.
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env['XTBAN_CONFIG'] ?? DEFAULT_CONFIG_PATH;
}

const CACHE_FILE = 'config-cache.json';

// Config is plain data but for two maps.
function toCache(config: Config, hash: string): string {
  // Keyed on this xtban's version as well as the file's bytes: another version may shape Config otherwise.
  return JSON.stringify({ version: packageVersion(), hash, config: { ...config, filters: [...config.filters], remotes: [...config.remotes] } });
}

function fromCache(text: string, hash: string, source: string): Config | undefined {
  try {
    const cached = JSON.parse(text) as { version: unknown; hash: string; config: Config & { filters: [string, unknown][]; remotes: [string, unknown][] } };
    if (cached.version !== packageVersion() || cached.hash !== hash || cached.config.source !== source) return undefined;
    return { ...cached.config, filters: new Map(cached.config.filters), remotes: new Map(cached.config.remotes) } as Config;
  } catch {
    return undefined;
  }
}

// Reads the config file; a missing or unreadable file is a usage error that says how to fix it. With a
// cache directory (the state directory), a config already validated is taken from there when the file's
// bytes are the same (SHA-256), so most commands skip parsing and validation.
export async function loadConfig(path: string, cacheDir?: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new XtbanError(code === 'ENOENT' ? `config ${path} does not exist` : `config ${path} cannot be read (${code ?? String(error)})`, {
      exitCode: ExitCode.usage,
      hint:
        code === 'ENOENT'
          ? 'create it (README "Config file" has a minimal example), or pass --config PATH or set XTBAN_CONFIG'
          : 'check its permissions; xtban usually runs as root',
    });
  }
  // The TOML parser and the schema load only when needed: a command whose config is cached never pays for them.
  const parse = async () => (await import('./parse.js')).parseConfigText(text, path);
  if (cacheDir === undefined) return parse();
  const hash = createHash('sha256').update(text).digest('hex');
  const cachePath = join(cacheDir, CACHE_FILE);
  const cached = fromCache(await readFile(cachePath, 'utf8').catch(() => ''), hash, path);
  if (cached) return cached;
  const config = await parse();
  // Best effort: a state directory that cannot be made or written only costs speed. Made here, not only
  // by the ban store, so that read-only commands (status --proc, scan) find the cache on their next run.
  // Not synced: a cache lost or cut short by a crash fails its check and is only parsed again.
  await Promise.resolve()
    .then(() => makeStateDir(cacheDir))
    .then(() => writeFileAtomic(cachePath, toCache(config, hash), { mode: 0o600 }))
    .catch(() => undefined);
  return config;
}
