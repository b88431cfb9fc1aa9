import { existsSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadConfig, resolveConfigPath, DEFAULT_CONFIG_PATH } from '../config/load.js';
import type { Config } from '../core/domain.js';
import { resolveStateDir } from '../adapters/state-dir.js';
import { parseDuration } from '../core/duration.js';
import { ExitCode, XtbanError, inputError } from '../core/errors.js';
import { compileFilter, MAX_MESSAGE_LENGTH, type CompiledFilter, type FilterSpec } from '../core/filter.js';
import { BUILTIN_FILTERS } from '../core/filters/sshd.js';
import { RetryCounter } from '../core/retry-counter.js';
import { createOutput, renderTable } from './output.js';
import { lineRanges, readError, scanRange, type RangeJob, type RangeScan } from './scan-range.js';
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

// Files smaller than this per thread are scanned on the main thread: a worker costs tens of ms to start.
const BYTES_PER_THREAD_AT_LEAST = 4 << 20;

// Scans one range on a worker thread, or here when the worker file is not beside this module (tests run
// the TypeScript sources).
function scanOnWorker(job: RangeJob, filter: CompiledFilter): Promise<RangeScan> {
  const script = new URL('./scan-worker.js', import.meta.url);
  if (!existsSync(script)) return scanRange(job, filter);
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData: job });
    worker.once('message', (result: RangeScan) => resolve(result));
    worker.once('error', (error) => reject(new XtbanError(error.message, { exitCode: ExitCode.usage })));
    worker.once('exit', (code) => {
      if (code !== 0) reject(new XtbanError(`scan worker for ${job.path} stopped with code ${code}`, { exitCode: ExitCode.system }));
    });
  });
}

// The ranges of a file, each scanned on its own thread when the file is large enough.
async function scanFile(path: string, filter: CompiledFilter, spec: FilterSpec, nowMs: number, threads: number): Promise<RangeScan[]> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw readError(path, error);
  }
  const parts = Math.max(1, Math.min(threads, Math.floor(size / BYTES_PER_THREAD_AT_LEAST)));
  if (parts === 1) return [await scanRange({ path, start: 0, end: size, spec, nowMs }, filter)];
  const ranges = await lineRanges(path, size, parts);
  return Promise.all(ranges.map((range) => scanOnWorker({ path, ...range, spec, nowMs }, filter)));
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
  const counter = new RetryCounter(maxretry, findtimeSeconds * 1000, 1_000_000);
  const now = Date.now();
  const stats = { lines: 0, matched: 0, ignored: 0, missed: 0, tooLong: 0, ambiguous: 0, unparsed: 0 };
  const matches = new Map<string, number>();
  const banned = new Map<string, number>();
  const started = performance.now();
  let threadsUsed = 1;
  for (const file of files) {
    const ranges = await scanFile(file, filter, spec, now, threads);
    threadsUsed = Math.max(threadsUsed, ranges.length);
    // Ranges come back in file order: failures are counted in the order of the lines, as in one pass.
    for (const range of ranges) {
      for (const key of Object.keys(stats) as (keyof typeof stats)[]) stats[key] += range.stats[key];
      for (let i = 0; i < range.which.length; i++) {
        const address = range.addresses[range.which[i] as number] as string;
        const time = range.times[i] as number;
        matches.set(address, (matches.get(address) ?? 0) + 1);
        if (counter.add(address, time) && !banned.has(address)) banned.set(address, time);
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const addresses = [...matches].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
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
