import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { writeFileAtomic } from '../adapters/atomic-file.js';
import { isLiveInTiers, type BanRecord } from '../core/bans.js';
import { MAX_MESSAGE_LENGTH } from '../core/filter.js';
import type { JailConfig } from '../core/domain.js';
import type { StatusSnapshot } from '../app/status.js';
import type { FleetStatus } from '../app/fleet.js';

// The daemon's metrics, in Prometheus' conventions: base units, _total for counters, labels for jail and list.
export interface Metrics {
  registry: Registry;
  repairs: Counter<'kind'>;
  reaped: Counter<'jail' | 'reason'>;
  writeErrors: Counter;
  reloads: Counter<'result'>;
  tooLong: Counter<'jail' | 'source'>;
  ambiguous: Counter<'jail' | 'source'>;
  lastCheck: Gauge;
  lastReap: Gauge;
  deadLettered: Counter<'target'>;
  fleetApplied: Counter<'action'>;
  fleetPublished: Counter;
  // Sets the fleet's gauges: connection, position and lag, outbox, each origin's last decision, refusals.
  observeFleet(status: FleetStatus, nowMs: number): void;
  // Sets the gauges of each central firewall's queue: requests waiting, requests refused for good.
  observeRemotes(targets: readonly string[], queued: ReadonlyMap<string, number>, deadLetters: ReadonlyMap<string, number>): void;
  // Sets the gauges that describe the kernel and the store from a fresh status snapshot.
  observe(
    snapshot: StatusSnapshot,
    bans: readonly BanRecord[],
    jails: readonly JailConfig[],
    nowMs: number,
    placement?: readonly { jail: string; action: 'evicted' | 'unplaced' | 'moved'; count: number }[],
  ): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });

  const entries = gauge('xtban_list_entries', 'Entries in a kernel list', ['jail', 'list']);
  const capacity = gauge('xtban_list_capacity_entries', 'Entries a kernel list can hold (ip_list_tot)', ['jail', 'list']);
  const liveEntries = gauge('xtban_list_live_entries', 'Entries with a stamp inside the list window', ['jail', 'list']);
  const staleEntries = gauge('xtban_list_stale_entries', 'Entries whose window has passed (reaped at the next pass)', ['jail', 'list']);
  const evicted = gauge('xtban_list_evicted_bans', 'Live bans of the store missing from their list (evicted or lost)', ['jail', 'list']);
  const liveBans = gauge('xtban_bans_live', 'Live bans in the store', ['jail']);
  const bySource = gauge('xtban_bans_live_by_source', 'Live bans in the store by the source that made them', ['jail', 'source']);
  const permanent = gauge('xtban_bans_permanent', 'Permanent bans in the store', ['jail']);
  // Counted from the store's events, so bans of every process count (the CLI, fail2ban's action, serve).
  const placementEvents = {
    evicted: gauge('xtban_list_evictions_total', 'Entries a full list gave up for a new ban (never a live ban: those are kept)', ['jail']),
    unplaced: gauge('xtban_bans_unplaced_total', 'Bans no list had room for without evicting a live ban (recorded, enforced once there is room)', ['jail']),
    moved: gauge('xtban_bans_moved_shard_total', 'Bans placed in another shard than their own because it was full', ['jail']),
  };
  const remoteQueued = gauge('xtban_remote_queued_requests', 'Requests waiting in the outbox for a central firewall', ['target']);
  const fleet = {
    connected: gauge('xtban_fleet_connected', '1 while connected to a fleet server'),
    position: gauge('xtban_fleet_position', 'The fleet stream sequence this host applied last'),
    streamLast: gauge('xtban_fleet_stream_last_sequence', 'The newest decision in the fleet stream, as last seen'),
    lag: gauge('xtban_fleet_lag_decisions', 'Decisions in the fleet stream not applied here yet'),
    outbox: gauge('xtban_fleet_outbox_decisions', "This host's decisions waiting to be stored by JetStream"),
    originSeq: gauge('xtban_fleet_origin_last_sequence', 'The last decision applied from each origin (its own counter)', ['origin']),
    originReceived: gauge('xtban_fleet_origin_last_received_timestamp_seconds', 'When the last decision of each origin was applied here', ['origin']),
    refused: gauge('xtban_fleet_refused_total', 'Fleet messages refused (hostile, unknown jail, bad address, safelisted here), ever', ['reason']),
    resyncs: gauge('xtban_fleet_resyncs_total', 'Resyncs from the live bans, ever'),
  };
  const remoteDead = gauge('xtban_remote_dead_letters', 'Requests a central firewall refused for good, set aside until `xtban remote forget-dead`', ['target']);

  return {
    registry,
    repairs: counter('xtban_repairs_total', 'Repairs made: ruleset re-applied after a reload, bans put back', ['kind']),
    reaped: counter('xtban_reaped_entries_total', 'Entries the reaper removed', ['jail', 'reason']),
    writeErrors: counter('xtban_kernel_write_errors_total', 'Writes to kernel lists that failed'),
    reloads: counter('xtban_config_reloads_total', 'Config reloads, by result', ['result']),
    tooLong: counter('xtban_source_lines_too_long_total', `Messages from a log source longer than ${MAX_MESSAGE_LENGTH} characters, not matched`, [
      'jail',
      'source',
    ]),
    ambiguous: counter('xtban_source_lines_ambiguous_total', 'Messages a filter reads with two different addresses (one typed by a client), not counted', [
      'jail',
      'source',
    ]),
    lastCheck: gauge('xtban_last_check_timestamp_seconds', 'When the ruleset was last checked'),
    lastReap: gauge('xtban_last_reap_timestamp_seconds', 'When the reaper last ran'),
    deadLettered: counter('xtban_remote_dead_lettered_total', 'Requests a central firewall refused for good and that were set aside', ['target']),
    fleetApplied: counter('xtban_fleet_applied_total', 'Decisions of other hosts applied here, by action', ['action']),
    fleetPublished: counter('xtban_fleet_published_total', "This host's decisions stored by JetStream"),
    observeFleet(status, nowMs) {
      fleet.connected.set(status.daemon?.connected === true ? 1 : 0);
      fleet.position.set(status.position);
      fleet.streamLast.set(status.daemon?.streamLast ?? 0);
      fleet.lag.set(status.lag ?? 0);
      fleet.outbox.set(status.outbox);
      fleet.originSeq.reset();
      fleet.originReceived.reset();
      for (const origin of status.origins) {
        fleet.originSeq.set({ origin: origin.origin }, origin.seq);
        fleet.originReceived.set({ origin: origin.origin }, Math.min(origin.receivedAt, nowMs) / 1000);
      }
      fleet.refused.reset();
      for (const [reason, count] of Object.entries(status.refused)) fleet.refused.set({ reason }, count);
      fleet.resyncs.set(status.resyncs);
    },
    observeRemotes(targets, queued, deadLetters) {
      remoteQueued.reset();
      remoteDead.reset();
      // Every configured target, and any other that still has requests set aside.
      for (const target of new Set([...targets, ...deadLetters.keys()])) {
        remoteQueued.set({ target }, queued.get(target) ?? 0);
        remoteDead.set({ target }, deadLetters.get(target) ?? 0);
      }
    },
    observe(snapshot, bans, jails, nowMs, placement = []) {
      for (const metric of [entries, capacity, liveEntries, staleEntries, evicted, liveBans, bySource, permanent, ...Object.values(placementEvents)])
        metric.reset();
      for (const jail of jails) for (const metric of Object.values(placementEvents)) metric.set({ jail: jail.name }, 0);
      for (const row of placement) placementEvents[row.action].set({ jail: row.jail }, row.count);
      for (const report of snapshot.reports) {
        if (report.jail === null || !report.exists) continue;
        const labels = { jail: report.jail, list: report.list };
        entries.set(labels, report.used);
        capacity.set(labels, report.capacity);
        liveEntries.set(labels, report.live);
        staleEntries.set(labels, report.stale);
        evicted.set(labels, report.evicted);
      }
      for (const jail of jails) {
        const mine = bans.filter((ban) => ban.jail === jail.name && isLiveInTiers(ban, jail.tierWindows, nowMs));
        liveBans.set({ jail: jail.name }, mine.length);
        permanent.set({ jail: jail.name }, mine.filter((ban) => ban.permanent).length);
        const sources = new Map<string, number>();
        for (const ban of mine) sources.set(ban.source, (sources.get(ban.source) ?? 0) + 1);
        for (const [source, count] of sources) bySource.set({ jail: jail.name, source }, count);
      }
    },
  };
}

// GET /metrics on host:port; everything else is 404. `refresh` runs before each scrape.
export async function serveMetrics(metrics: Metrics, host: string, port: number, refresh: () => Promise<void>): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    refresh()
      .then(() => metrics.registry.metrics())
      .then((text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text))
      .catch((error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error instanceof Error ? error.message : String(error)}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

// node_exporter's textfile collector reads *.prom files: replaced whole, so it never reads half of one.
// Not synced: the file is rewritten every interval, and one lost to a crash costs a scrape.
export async function writeTextfile(metrics: Metrics, path: string): Promise<void> {
  await writeFileAtomic(path, await metrics.registry.metrics());
}
