import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Ports } from '../app/ports.js';
import { admitAddress, banInProcess, unbanInProcess, type BanOrigin } from '../app/ban-pipeline.js';
import type { JailConfig, SourceConfig } from '../core/domain.js';
import { parseAddress, type Address } from '../core/address.js';
import { isLiveInTiers } from '../core/bans.js';
import { AttemptLinker } from '../core/attempts.js';
import { compileFilter, matchMessage, type CompiledFilter } from '../core/filter.js';
import { BUILTIN_FILTERS, resolveFilterSpec } from '../core/filters/index.js';
import { parseFileLine, type LogRecord } from '../core/log-line.js';
import { RetryCounter } from '../core/retry-counter.js';
import type { Logger } from '../logger.js';
import { banLogLines } from './ban-log.js';
import { FileFollower } from './file-follower.js';
import { JournalFollower } from './journal-follower.js';
import { SourceState } from './source-state.js';

export interface SourcesHandle {
  stop(): Promise<void>;
}

// What the daemon counts about its sources (metrics): each ban, each message too long to match, and
// each message that can be read with two addresses.
export interface SourceCounters {
  banned(jail: string, source: string): void;
  tooLong(jail: string, source: string): void;
  ambiguous(jail: string, source: string): void;
}

const NO_COUNTERS: SourceCounters = { banned: () => undefined, tooLong: () => undefined, ambiguous: () => undefined };

// A warning about ambiguous messages at most this often per source: a client can send many.
const AMBIGUOUS_WARNING_MS = 60_000;

// Starts every source of every jail: log files and the journal through their filters and a per-jail
// sliding count, blocklist files directly.
export function startSources(context: () => Ports, log: Logger, counters: SourceCounters = NO_COUNTERS): SourcesHandle {
  const initial = context();
  const state = new SourceState(dirname(initial.store().location));
  const stoppers: (() => Promise<void>)[] = [];
  const flushTimer = setInterval(() => state.flush(), 1000);

  const ban = (jail: JailConfig, addresses: readonly Address[], origin: BanOrigin) => {
    const { decisions, outcomes, placements } = banInProcess(context(), jail, addresses, origin);
    for (const line of banLogLines(jail.name, origin, decisions, outcomes, placements)) log[line.level](line.fields, line.message);
    for (const decision of decisions) if (decision.kind !== 'refresh') counters.banned(jail.name, origin.source);
  };

  // An address as the jail bans it, or undefined when the jail does not take it or it is safelisted.
  const admit = (jail: JailConfig, address: Address): Address | undefined => {
    const admitted = admitAddress(context(), jail, address);
    if ('refused' in admitted) {
      log.debug({ jail: jail.name, address: address.text, why: admitted.refused }, 'address ignored');
      return undefined;
    }
    return admitted.address;
  };

  for (const jail of initial.config.jails) {
    const counter = new RetryCounter(jail.maxretry, jail.findtimeSeconds * 1000);
    jail.sources.forEach((source, index) => {
      const id = `${jail.name}:${index}:${source.type}:${source.type === 'journal' ? `${source.unit ?? ''}/${source.identifier ?? ''}` : source.path}`;
      const onError = (error: unknown) =>
        log.error({ jail: jail.name, source: id, error: error instanceof Error ? error.message : String(error) }, 'source error');
      if (source.type === 'list') {
        stoppers.push(watchList(jail, source, id, log, context, ban, admit, onError));
        return;
      }
      const spec = resolveFilterSpec(source.filter, source.mode, initial.config.filters, `jails.${jail.name}.sources[${index}]`);
      const filter: CompiledFilter = compileFilter(spec);
      const caveat = BUILTIN_FILTERS.get(source.filter)?.caveat;
      if (caveat) log.warn({ jail: jail.name, source: id, filter: source.filter }, `filter ${source.filter}: ${caveat}`);
      // Each failed attempt once, whichever of its lines the daemon wrote (by the writing process).
      const attempts = new AttemptLinker();
      let warnedAt = -Infinity;
      let unwarned = 0;
      const onRecord = (record: LogRecord) => {
        const result = matchMessage(filter, record.program, record.message);
        if (result.kind === 'too-long') {
          counters.tooLong(jail.name, id);
          log.debug({ jail: jail.name, source: id, length: record.message.length }, 'message too long to match');
        }
        if (result.kind === 'ambiguous') {
          counters.ambiguous(jail.name, id);
          unwarned++;
          if (Date.now() - warnedAt >= AMBIGUOUS_WARNING_MS) {
            log.warn(
              { jail: jail.name, source: id, captured: result.captured, messages: unwarned },
              `a message of ${id} reads with two addresses (${result.captured.join(' and ')}): one was typed by a client; neither is counted (${unwarned} such message(s) since the last warning)`,
            );
            warnedAt = Date.now();
            unwarned = 0;
          }
        }
        if (result.kind !== 'match') return;
        const timeMs = record.timeMs ?? Date.now();
        const role = filter.roles[result.pattern] ?? 'failure';
        if (!attempts.counts({ program: record.program, pid: record.pid, timeMs }, result.address.text, role, result.pattern)) return;
        const address = admit(jail, result.address);
        if (!address) return;
        if (counter.add(address.text, timeMs)) {
          ban(jail, [address], { source: source.type === 'file' ? 'log' : 'journal', reason: `${filter.name}: ${jail.maxretry} failures`, permanent: false });
        }
      };
      if (source.type === 'file') {
        const program = filter.programs ? [...filter.programs][0] : undefined;
        const follower = new FileFollower(
          id,
          source.path,
          state,
          (line) => {
            const record = parseFileLine(line, source.format, Date.now(), program);
            if (record) onRecord(record);
          },
          onError,
        );
        follower.start();
        stoppers.push(() => follower.stop());
      } else {
        const follower = new JournalFollower(id, { unit: source.unit, identifier: source.identifier }, state, onRecord, onError);
        follower.start();
        stoppers.push(() => follower.stop());
      }
    });
  }
  const count = stoppers.length;
  log.info({ sources: count }, count === 0 ? 'no offender sources configured' : 'offender sources started');
  return {
    async stop() {
      clearInterval(flushTimer);
      for (const stop of stoppers) await stop();
      state.flush();
    },
  };
}

// A blocklist file: every address in it is banned; an address removed from it is unbanned when this
// file was the ban's only source. Read at start and within a second of every change.
function watchList(
  jail: JailConfig,
  source: Extract<SourceConfig, { type: 'list' }>,
  id: string,
  log: Logger,
  context: () => Ports,
  ban: (jail: JailConfig, addresses: readonly Address[], origin: BanOrigin) => void,
  admit: (jail: JailConfig, address: Address) => Address | undefined,
  onError: (error: unknown) => void,
): () => Promise<void> {
  const reason = `list ${source.path}`;
  const read = async () => {
    let text = '';
    try {
      text = await readFile(source.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return onError(error);
    }
    const wanted = new Map<string, Address>();
    text.split('\n').forEach((raw, index) => {
      const line = raw.replace(/#.*$/, '').trim();
      if (line === '') return;
      try {
        const address = admit(jail, parseAddress(line));
        if (address) wanted.set(address.text, address);
      } catch (error) {
        log.warn(
          { jail: jail.name, file: source.path, line: index + 1, error: error instanceof Error ? error.message : String(error) },
          'blocklist line skipped',
        );
      }
    });
    const current = context();
    const now = Date.now();
    const mine = current
      .store()
      .open(jail.name)
      .filter((record) => record.source === 'list' && record.reason === reason && isLiveInTiers(record, jail.tierWindows, now));
    const have = new Set(mine.map((record) => record.address));
    const added = [...wanted.values()].filter((address) => !have.has(address.text));
    if (added.length > 0) ban(jail, added, { source: 'list', reason, permanent: source.permanent });
    const removed = mine.filter((record) => !wanted.has(record.address));
    if (removed.length > 0) {
      unbanInProcess(
        current,
        jail,
        removed.map((record) => ({ family: record.family, text: record.address })),
        'list',
      );
      log.info({ jail: jail.name, file: source.path, unbanned: removed.map((record) => record.address) }, 'removed from the blocklist: unbanned');
    }
  };
  let queue = read().catch(onError);
  const watcher: FSWatcher = watch(source.path, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 25 } });
  watcher.on('all', () => {
    queue = queue.then(read).catch(onError);
  });
  log.info({ jail: jail.name, file: source.path, id }, 'following blocklist');
  return async () => {
    await watcher.close();
    await queue;
  };
}
