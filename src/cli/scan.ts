import { access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { loadConfig, resolveConfigPath, DEFAULT_CONFIG_PATH } from '../config/load.js';
import type { Config } from '../core/domain.js';
import { resolveStateDir } from '../adapters/state-dir.js';
import { parseDuration } from '../core/duration.js';
import { ExitCode, inputError } from '../core/errors.js';
import { compileFilter, MAX_MESSAGE_LENGTH, type FilterSpec } from '../core/filter.js';
import { BUILTIN_FILTERS } from '../core/filters/sshd.js';
import { createOutput, renderTable } from './output.js';
import { scanLogs } from '../app/scan.js';
import type { GlobalOptions } from './context.js';

import type { ScanOptions } from './commands.js';

// The config if one is named or present at the default path: scan works without one for built-in filters.
async function optionalConfig(options: GlobalOptions): Promise<Config | undefined> {
  const path = resolveConfigPath(options.config);
  if (options.config === undefined && process.env['XTBAN_CONFIG'] === undefined && path === DEFAULT_CONFIG_PATH) {
    try {
      await access(path);
    } catch {
      return undefined;
    }
  }
  return loadConfig(path, resolveStateDir(options.stateDir));
}

// A built-in filter or one of the config's [filters].
export function resolveFilter(name: string, config: Config | undefined): FilterSpec {
  const spec = BUILTIN_FILTERS.get(name) ?? config?.filters.get(name);
  if (!spec) {
    const known = [...BUILTIN_FILTERS.keys(), ...(config?.filters.keys() ?? [])];
    throw inputError(`--filter: no filter named ${JSON.stringify(name)}`, `known filters: ${known.join(', ')}`);
  }
  return spec;
}

// `xtban scan FILE...`: what fail2ban-regex tells, for xtban's filters.
export async function scanCommand(files: string[], options: ScanOptions): Promise<number> {
  const out = createOutput(options.json === true);
  const maxretry = options.maxretry === undefined ? 5 : Number(options.maxretry);
  if (!Number.isInteger(maxretry) || maxretry < 1 || maxretry > 1000)
    throw inputError(`--maxretry: ${JSON.stringify(options.maxretry)} is not a whole number from 1 to 1000`);
  const findtimeSeconds = parseDuration(options.findtime ?? '10m', '--findtime');
  const threads = options.threads === undefined ? availableParallelism() : Number(options.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64)
    throw inputError(`--threads: ${JSON.stringify(options.threads)} is not a whole number from 1 to 64`);
  const config = await optionalConfig(options);
  const spec = resolveFilter(options.filter ?? 'sshd', config);
  // Compiled before any file is read, so a bad pattern is refused first; worker threads compile their own.
  const filter = compileFilter(spec);
  const { stats, addresses, banned, seconds, threadsUsed } = await scanLogs(files, filter, spec, { maxretry, findtimeSeconds, threads, nowMs: Date.now() });
  out.result({
    filter: spec.name,
    files,
    maxretry,
    findtimeSeconds,
    ...stats,
    seconds,
    linesPerSecond: seconds > 0 ? Math.round(stats.lines / seconds) : null,
    threads: threadsUsed,
    addresses: addresses.map(([address, count]) => ({ address, matches: count, wouldBan: banned.has(address) })),
    wouldBan: [...banned].map(([address, time]) => ({ address, at: new Date(time).toISOString() })),
  });
  out.line(`filter ${spec.name} over ${files.join(', ')}`);
  out.line(
    `lines: ${stats.lines} read, ${stats.matched} matched, ${stats.ignored} ignored, ${stats.missed} missed, ${stats.tooLong} too long to match (over ${MAX_MESSAGE_LENGTH} characters), ${stats.ambiguous} ambiguous (two readings of the address: one a client typed), ${stats.unparsed} not syslog or journal lines`,
  );
  out.line(
    `time: ${seconds.toFixed(2)} s (${seconds > 0 ? Math.round(stats.lines / seconds) : '-'} lines/s, ${threadsUsed} thread${threadsUsed === 1 ? '' : 's'})`,
  );
  if (addresses.length > 0) {
    const shown = addresses.slice(0, 50);
    out.line(
      `\n${renderTable([['ADDRESS', 'MATCHES', 'WOULD BAN'], ...shown.map(([address, count]) => [address, String(count), banned.has(address) ? 'yes' : ''])], { alignRight: [1] })}`,
    );
    if (addresses.length > shown.length) out.line(`... and ${addresses.length - shown.length} more addresses (--json lists them all)`);
  }
  out.line(`\n${banned.size} address(es) would be banned with maxretry ${maxretry} within ${options.findtime ?? '10m'}`);
  return ExitCode.ok;
}
