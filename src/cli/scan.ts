import { access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { loadConfig, resolveConfigPath, DEFAULT_CONFIG_PATH } from '../config/load.js';
import type { Config } from '../core/domain.js';
import { resolveStateDir } from '../adapters/state-dir.js';
import { parseDuration } from '../core/duration.js';
import { ExitCode, inputError } from '../core/errors.js';
import { compileFilter, MAX_MESSAGE_LENGTH } from '../core/filter.js';
import { FILTER_MODES, type FilterMode } from '../core/filters/builtin.js';
import { resolveFilterSpec } from '../core/filters/index.js';
import type { FileFormat } from '../core/log-line.js';
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

const FORMATS: readonly FileFormat[] = ['auto', 'syslog', 'native', 'plain'];

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
  const mode = (options.mode ?? 'normal') as FilterMode;
  if (!FILTER_MODES.includes(mode)) throw inputError(`--mode: ${JSON.stringify(options.mode)} is not a mode`, `modes: ${FILTER_MODES.join(', ')}`);
  const format = (options.format ?? 'auto') as FileFormat;
  if (!FORMATS.includes(format)) throw inputError(`--format: ${JSON.stringify(options.format)} is not a format`, `formats: ${FORMATS.join(', ')}`);
  const config = await optionalConfig(options);
  const spec = resolveFilterSpec(options.filter ?? 'sshd', mode, config?.filters);
  // Compiled before any file is read, so a bad pattern is refused first; worker threads compile their own.
  const filter = compileFilter(spec);
  const { stats, addresses, banned, seconds, threadsUsed } = await scanLogs(files, filter, spec, {
    maxretry,
    findtimeSeconds,
    threads,
    nowMs: Date.now(),
    format,
  });
  out.result({
    filter: spec.name,
    mode,
    format,
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
  out.line(`filter ${spec.name}${mode === 'normal' ? '' : ` (mode ${mode})`} over ${files.join(', ')}`);
  out.line(
    `lines: ${stats.lines} read, ${stats.matched} matched (${stats.matched - stats.linked} failed attempts, ${stats.linked} more lines of attempts counted once), ${stats.ignored} ignored, ${stats.missed} missed, ${stats.tooLong} too long to match (over ${MAX_MESSAGE_LENGTH} characters), ${stats.ambiguous} ambiguous (two readings of the address: one a client typed), ${stats.unparsed} not lines of a log format xtban reads`,
  );
  out.line(
    `time: ${seconds.toFixed(2)} s (${seconds > 0 ? Math.round(stats.lines / seconds) : '-'} lines/s, ${threadsUsed} thread${threadsUsed === 1 ? '' : 's'})`,
  );
  if (addresses.length > 0) {
    const shown = addresses.slice(0, 50);
    out.line(
      `\n${renderTable([['ADDRESS', 'ATTEMPTS', 'WOULD BAN'], ...shown.map(([address, count]) => [address, String(count), banned.has(address) ? 'yes' : ''])], { alignRight: [1] })}`,
    );
    if (addresses.length > shown.length) out.line(`... and ${addresses.length - shown.length} more addresses (--json lists them all)`);
  }
  out.line(`\n${banned.size} address(es) would be banned with maxretry ${maxretry} within ${options.findtime ?? '10m'}`);
  return ExitCode.ok;
}
