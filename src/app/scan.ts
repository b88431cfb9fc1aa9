import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { ExitCode, XtbanError } from '../core/errors.js';
import type { CompiledFilter, FilterSpec } from '../core/filter.js';
import type { FileFormat } from '../core/log-line.js';
import { countFailures } from '../core/retry-counter.js';
import { lineRanges, readError, scanRange, type RangeJob, type RangeScan } from './scan-range.js';

// What a scan of log files found: the counts, matches per address (most first), and when each address
// would have been banned.
export interface ScanReport {
  stats: RangeScan['stats'];
  addresses: [string, number][];
  banned: Map<string, number>;
  seconds: number;
  threadsUsed: number;
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
async function scanFile(path: string, filter: CompiledFilter, spec: FilterSpec, format: FileFormat, nowMs: number, threads: number): Promise<RangeScan[]> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw readError(path, error);
  }
  const parts = Math.max(1, Math.min(threads, Math.floor(size / BYTES_PER_THREAD_AT_LEAST)));
  if (parts === 1) return [await scanRange({ path, start: 0, end: size, spec, format, nowMs }, filter)];
  const ranges = await lineRanges(path, size, parts);
  return Promise.all(ranges.map((range) => scanOnWorker({ path, ...range, spec, format, nowMs }, filter)));
}

// Runs a filter over log files as `xtban scan` does: large files cut at line starts over worker threads,
// failures counted in line order all the same, so the result is that of one pass (but for an attempt whose
// lines a cut separates, linked within each range only).
export async function scanLogs(
  files: readonly string[],
  filter: CompiledFilter,
  spec: FilterSpec,
  options: { maxretry: number; findtimeSeconds: number; threads: number; nowMs: number; format?: FileFormat },
): Promise<ScanReport> {
  const stats = { lines: 0, matched: 0, linked: 0, ignored: 0, missed: 0, tooLong: 0, ambiguous: 0, unparsed: 0 };
  const started = performance.now();
  const ranges: RangeScan[] = [];
  let threadsUsed = 1;
  for (const file of files) {
    const scanned = await scanFile(file, filter, spec, options.format ?? 'auto', options.nowMs, options.threads);
    threadsUsed = Math.max(threadsUsed, scanned.length);
    ranges.push(...scanned);
  }
  for (const range of ranges) for (const key of Object.keys(stats) as (keyof typeof stats)[]) stats[key] += range.stats[key];
  const { matches, banned } = countFailures(ranges, options.maxretry, options.findtimeSeconds * 1000);
  const seconds = (performance.now() - started) / 1000;
  const addresses = [...matches].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { stats, addresses, banned, seconds, threadsUsed };
}
