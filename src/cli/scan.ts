import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { loadConfig, resolveConfigPath, DEFAULT_CONFIG_PATH } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { parseDuration } from '../core/duration.js';
import { ExitCode, XtbanError, inputError } from '../core/errors.js';
import { compileFilter, matchMessage, type FilterSpec } from '../core/filter.js';
import { BUILTIN_FILTERS } from '../core/filters/sshd.js';
import { parseJournalEntry, parseSyslogLine } from '../core/log-line.js';
import { RetryCounter } from '../core/retry-counter.js';
import { createOutput, renderTable } from './output.js';
import type { GlobalOptions } from './context.js';

interface ScanOptions extends GlobalOptions {
  filter?: string;
  maxretry?: string;
  findtime?: string;
}

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
  return loadConfig(path);
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

// Calls `onLine` for every line of a file, reading it in large chunks.
async function eachLine(path: string, onLine: (line: string) => void): Promise<void> {
  let rest = '';
  try {
    for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const text = rest + (chunk as string);
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        onLine(text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end));
        start = end + 1;
      }
      rest = text.slice(start);
    }
  } catch (error) {
    throw new XtbanError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { exitCode: ExitCode.usage });
  }
  if (rest !== '') onLine(rest);
}

// `xtban scan FILE...`: what fail2ban-regex tells, for xtban's filters.
export async function scanCommand(files: string[], options: ScanOptions): Promise<number> {
  const out = createOutput(options.json === true);
  const maxretry = options.maxretry === undefined ? 5 : Number(options.maxretry);
  if (!Number.isInteger(maxretry) || maxretry < 1 || maxretry > 1000) throw inputError(`--maxretry: ${JSON.stringify(options.maxretry)} is not a whole number from 1 to 1000`);
  const findtimeSeconds = parseDuration(options.findtime ?? '10m', '--findtime');
  const config = await optionalConfig(options);
  const spec = resolveFilter(options.filter ?? 'sshd', config);
  const filter = compileFilter(spec);
  const counter = new RetryCounter(maxretry, findtimeSeconds * 1000, 1_000_000);
  const now = Date.now();
  const stats = { lines: 0, matched: 0, ignored: 0, missed: 0, unparsed: 0 };
  const matches = new Map<string, number>();
  const banned = new Map<string, number>();
  const started = performance.now();
  for (const file of files) {
    await eachLine(file, (line) => {
      stats.lines++;
      const record = line.startsWith('{') ? parseJournalEntry(line) : parseSyslogLine(line, now);
      if (!record) {
        stats.unparsed++;
        return;
      }
      const result = matchMessage(filter, record.program, record.message);
      if (result.kind === 'ignored') stats.ignored++;
      else if (result.kind === 'none') stats.missed++;
      else {
        stats.matched++;
        const address = result.address.text;
        matches.set(address, (matches.get(address) ?? 0) + 1);
        const time = record.timeMs ?? now;
        if (counter.add(address, time) && !banned.has(address)) banned.set(address, time);
      }
    });
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
    addresses: addresses.map(([address, count]) => ({ address, matches: count, wouldBan: banned.has(address) })),
    wouldBan: [...banned].map(([address, time]) => ({ address, at: new Date(time).toISOString() })),
  });
  out.line(`filter ${spec.name} over ${files.join(', ')}`);
  out.line(`lines: ${stats.lines} read, ${stats.matched} matched, ${stats.ignored} ignored, ${stats.missed} missed, ${stats.unparsed} not syslog or journal lines`);
  out.line(`time: ${seconds.toFixed(2)} s (${seconds > 0 ? Math.round(stats.lines / seconds) : '-'} lines/s)`);
  if (addresses.length > 0) {
    const shown = addresses.slice(0, 50);
    out.line(`\n${renderTable([['ADDRESS', 'MATCHES', 'WOULD BAN'], ...shown.map(([address, count]) => [address, String(count), banned.has(address) ? 'yes' : ''])], { alignRight: [1] })}`);
    if (addresses.length > shown.length) out.line(`... and ${addresses.length - shown.length} more addresses (--json lists them all)`);
  }
  out.line(`\n${banned.size} address(es) would be banned with maxretry ${maxretry} within ${options.findtime ?? '10m'}`);
  return ExitCode.ok;
}
