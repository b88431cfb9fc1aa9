import { watch, type FSWatcher } from 'chokidar';
import type { Server } from 'node:http';
import { systemFirewall } from '../adapters/firewall.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { parseListenAddress } from '../config/listen-address.js';
import type { Config } from '../core/domain.js';
import { portsFor, type Ports } from '../app/ports.js';
import { resolveStateDir } from '../adapters/state-dir.js';
import { runReap } from '../app/reap.js';
import { collectStatus } from '../app/status.js';
import { parseDuration } from '../core/duration.js';
import { ExitCode } from '../core/errors.js';
import { createLogger, type Logger } from '../logger.js';
import { checkAndRepair } from '../app/repair.js';
import { fullCheckDue, rulesetChangesUnreported, RulesetWatch } from './ruleset-watch.js';
import { createMetrics, serveMetrics, writeTextfile, type Metrics } from './metrics.js';
import { withFreshSafelist } from '../adapters/fresh-safelist.js';
import { startSources, type SourceCounters, type SourcesHandle } from './sources.js';
import { emptyJailLists } from '../app/ban-pipeline.js';
import { deliverOutbox } from '../app/remote.js';
import { retryDelayMs } from '../core/delivery.js';
import { lockDaemon } from '../adapters/daemon-lock.js';
import { dirname } from 'node:path';
import { collectFleetStatus, type FleetLive } from '../app/fleet.js';
import { startFleet, type FleetRunner } from './fleet-runner.js';

// The command line's settings for the daemon (xtban's global options and its own).
export interface DaemonOptions {
  config?: string;
  stateDir?: string;
  logLevel?: string;
  logFormat?: string;
  checkInterval?: string;
  reapInterval?: string;
  metrics?: string;
  metricsFile?: string;
  flushOnExit?: boolean;
}

// The daemon's settings: flags win over the [daemon] table.
export interface DaemonSettings {
  checkMs: number;
  reapMs: number;
  metrics: { host: string; port: number } | undefined;
  metricsFile: string | undefined;
  flushOnExit: boolean;
}

export function daemonSettings(config: Config, options: DaemonOptions): DaemonSettings {
  const metrics = options.metrics ?? config.daemon.metrics;
  return {
    checkMs: (options.checkInterval === undefined ? config.daemon.checkIntervalSeconds : parseDuration(options.checkInterval, '--check-interval')) * 1000,
    reapMs: (options.reapInterval === undefined ? config.daemon.reapIntervalSeconds : parseDuration(options.reapInterval, '--reap-interval')) * 1000,
    metrics: metrics === undefined ? undefined : parseListenAddress(/^\d+$/.test(metrics) ? `127.0.0.1:${metrics}` : metrics, '--metrics'),
    metricsFile: options.metricsFile ?? config.daemon.metricsFile,
    flushOnExit: options.flushOnExit === true,
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// What a scrape (or the metrics textfile) sees: the lists and the store, read and never written. Kernel
// activity reaches the store through the reaper, on its own timer, not through every scrape.
export async function observeMetrics(metrics: Metrics, context: Ports, fleetLive?: () => FleetLive | undefined): Promise<void> {
  const snapshot = await collectStatus(context, context.config.jails, { allLists: false, live: true, copyActivity: false });
  const store = context.store();
  metrics.observe(snapshot, snapshot.bans ?? store.open(), context.config.jails, Date.now(), store.placementCounts());
  if (context.config.remotes.size > 0) metrics.observeRemotes([...context.config.remotes.keys()], store.outboxSizes(), store.deadLetterCounts());
  const fleet = collectFleetStatus(context, fleetLive?.());
  if (fleet !== undefined) metrics.observeFleet(fleet, Date.now());
}

// `xtban daemon`: repair within seconds of a reload, reap on a timer, metrics, config reload, clean shutdown.
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const log = createLogger(options.logLevel ?? process.env['XTBAN_LOG_LEVEL'] ?? 'info', 1, options.logFormat ?? process.env['XTBAN_LOG_FORMAT']);
  const logs: Record<'repair' | 'reaper' | 'sources' | 'metrics' | 'config' | 'fleet', Logger> = {
    fleet: log.child({ component: 'fleet' }),
    repair: log.child({ component: 'repair' }),
    reaper: log.child({ component: 'reaper' }),
    sources: log.child({ component: 'sources' }),
    metrics: log.child({ component: 'metrics' }),
    config: log.child({ component: 'config' }),
  };
  const configPath = resolveConfigPath(options.config);
  // The daemon's safelist is read afresh for every batch of admissions (FreshSafelist): a line added to a
  // safelist file or an address added to an interface is safe from the next log line on.
  const build = async (config: Config): Promise<Ports> =>
    withFreshSafelist(await portsFor(config, log, { stateDir: resolveStateDir(options.stateDir) }), (problem) => logs.config.error(problem));

  let context = await build(await loadConfig(configPath));
  // One daemon per state directory, for as long as this process lives (the kernel drops the lock when it
  // dies); while it holds it, commands leave delivery to central firewalls to it.
  const lock = await lockDaemon(dirname(context.store().location)).catch((error: unknown) => {
    context.closeStore();
    throw error;
  });
  let settings = daemonSettings(context.config, options);
  let firewall = systemFirewall(context.config.backend);
  const metrics = createMetrics();
  const sourceCounters: SourceCounters = {
    banned: () => fleet?.nudge(),
    tooLong: (jail, source) => metrics.tooLong.inc({ jail, source }),
    ambiguous: (jail, source) => metrics.ambiguous.inc({ jail, source }),
  };
  logs.config.info(
    { config: configPath, jails: context.config.jails.map((jail) => jail.name), checkMs: settings.checkMs, reapMs: settings.reapMs },
    'daemon starting',
  );

  let fleet: FleetRunner | undefined;
  const startFleetFor = (config: Config): FleetRunner | undefined =>
    config.fleet === undefined
      ? undefined
      : startFleet(() => context, config.fleet, logs.fleet, {
          applied: (report) => {
            if (report.banned > 0) metrics.fleetApplied.inc({ action: 'ban' }, report.banned);
            if (report.unbanned > 0) metrics.fleetApplied.inc({ action: 'unban' }, report.unbanned);
          },
          published: (count) => metrics.fleetPublished.inc(count),
        });

  // One piece of work at a time: a check never runs into a reap or a reload.
  let queue: Promise<void> = Promise.resolve();
  const pending = new Set<string>();
  const exclusive = (name: string, work: () => Promise<void>): Promise<void> => {
    if (pending.has(name)) return queue;
    pending.add(name);
    queue = queue.then(async () => {
      pending.delete(name);
      try {
        await work();
      } catch (error) {
        log.child({ component: name }).error({ error: message(error) }, `${name} failed`);
      }
    });
    return queue;
  };

  const refreshMetrics = () => observeMetrics(metrics, context, () => fleet?.state());
  const writeMetricsFile = async () => {
    if (settings.metricsFile === undefined) return;
    try {
      await refreshMetrics();
      await writeTextfile(metrics, settings.metricsFile);
    } catch (error) {
      logs.metrics.error({ error: message(error), file: settings.metricsFile }, 'writing the metrics textfile failed');
    }
  };

  // The lists are looked for at every check; the ruleset itself (iptables-save) is compared as soon as
  // changes reported by nft monitor settle, and otherwise every tenth check (every sixtieth while
  // changes are watched and none is under way): idle, iptables-save runs once a minute, not every 10 s.
  let checks = 0;
  let rulesetChanged = false;
  let rulesetWatch: RulesetWatch | undefined;
  const check = async () => {
    const watching = rulesetWatch?.watching === true && !rulesetWatch.changing;
    const full = fullCheckDue({ count: checks++, watching, changed: rulesetChanged });
    rulesetChanged = false;
    const report = await checkAndRepair(context, firewall, { full });
    metrics.lastCheck.set(Date.now() / 1000);
    if (report.findings.length === 0) return;
    metrics.repairs.inc({ kind: 'ruleset' });
    const restored = report.restore?.restored ?? 0;
    if (restored > 0) metrics.repairs.inc({ kind: 'bans' }, restored);
    metrics.writeErrors.inc(report.restore?.failed.length ?? 0);
    const repaired = report.findings.map((finding) => `${finding.family === 4 ? 'IPv4' : 'IPv6'} ${finding.jail}: ${finding.detail}`);
    logs.repair.warn(
      { findings: repaired.length, restored },
      `ruleset or lists were missing: repaired ${repaired.join('; ')}${restored > 0 ? `; ${restored} ban(s) put back` : ''}`,
    );
    await writeMetricsFile();
  };

  const reap = async () => {
    const report = await runReap({ ...context, log: logs.reaper }, context.config.jails, { dryRun: false });
    metrics.lastReap.set(Date.now() / 1000);
    for (const action of report.removed) metrics.reaped.inc({ jail: action.jail, reason: action.reason });
    metrics.writeErrors.inc(report.errors.length + (report.restore?.failed.length ?? 0));
    if (report.restore && report.restore.restored > 0) metrics.repairs.inc({ kind: 'bans' }, report.restore.restored);
    await writeMetricsFile();
  };

  const reload = async (why: string) => {
    let config: Config;
    try {
      config = await loadConfig(configPath);
    } catch (error) {
      metrics.reloads.inc({ result: 'failed' });
      logs.config.error({ why, error: message(error) }, 'config reload failed: keeping the running config');
      return;
    }
    const next = await build(config);
    await sources?.stop();
    const fleetChanged = JSON.stringify(config.fleet) !== JSON.stringify(context.config.fleet);
    if (fleetChanged) {
      await fleet?.stop();
      fleet = undefined;
    }
    context.closeStore();
    context = next;
    if (fleetChanged) fleet = startFleetFor(config);
    sources = startSources(() => context, logs.sources, sourceCounters);
    settings = daemonSettings(config, options);
    firewall = systemFirewall(config.backend);
    await watchRuleset(config);
    restartTimers();
    metrics.reloads.inc({ result: 'ok' });
    logs.config.info({ why, jails: config.jails.map((jail) => jail.name) }, 'config reloaded');
    await check();
  };

  let checkTimer: NodeJS.Timeout | undefined;
  let reapTimer: NodeJS.Timeout | undefined;
  function restartTimers(): void {
    clearInterval(checkTimer);
    clearInterval(reapTimer);
    checkTimer = setInterval(() => void exclusive('repair', check), settings.checkMs);
    reapTimer = setInterval(() => void exclusive('reaper', reap), settings.reapMs);
  }

  async function watchRuleset(config: Config): Promise<void> {
    await rulesetWatch?.stop();
    rulesetWatch = undefined;
    const unreported = await rulesetChangesUnreported(config.backend);
    if (unreported !== undefined) {
      logs.repair.info({ backend: config.backend, why: unreported }, 'ruleset changes are not watched: the ruleset is compared every ten checks');
      return;
    }
    rulesetWatch = new RulesetWatch(
      () => {
        rulesetChanged = true;
        void exclusive('repair', check);
      },
      (why) => logs.repair.warn({ why }, 'watching ruleset changes stopped: comparing the ruleset every ten checks until it restarts'),
    );
    rulesetWatch.start();
    logs.repair.info('watching ruleset changes (nft monitor)');
  }

  // Start: the watch first (no change slips between the first comparison and it), everything in place,
  // bans back, then the sources and the timers.
  await watchRuleset(context.config);
  await exclusive('repair', check);
  await exclusive('reaper', reap);
  let sources: SourcesHandle | undefined = startSources(() => context, logs.sources, sourceCounters);
  fleet = startFleetFor(context.config);
  restartTimers();
  const delivering = new Set<string>();
  // Per target: deliveries in a row that stopped short, and when to try again.
  const retries = new Map<string, { failures: number; notBefore: number }>();
  const deliveryTimer = setInterval(() => {
    // Without central firewalls there is nothing to deliver: no store query twice a second.
    if (context.config.remotes.size === 0) return;
    const sizes = context.store().outboxSizes();
    for (const target of context.config.remotes.values()) {
      if ((sizes.get(target.name) ?? 0) === 0 || delivering.has(target.name)) continue;
      if ((retries.get(target.name)?.notBefore ?? 0) > Date.now()) continue;
      delivering.add(target.name);
      deliverOutbox({ ...context, log: logs.sources }, target)
        .then((report) => {
          if (report.refused.length > 0) metrics.deadLettered.inc({ target: target.name }, report.refused.length);
          const failures = report.failure === undefined ? 0 : (retries.get(target.name)?.failures ?? 0) + 1;
          if (failures === 0) retries.delete(target.name);
          else retries.set(target.name, { failures, notBefore: Date.now() + retryDelayMs(failures) });
          if (report.delivered > 0) logs.sources.info({ target: target.name, delivered: report.delivered, left: report.left }, 'delivered to central firewall');
        })
        .catch((error: unknown) => logs.sources.error({ target: target.name, error: message(error) }, 'delivery failed'))
        .finally(() => delivering.delete(target.name));
    }
  }, 500);

  let server: Server | undefined;
  if (settings.metrics) {
    server = await serveMetrics(metrics, settings.metrics.host, settings.metrics.port, () => refreshMetrics());
    logs.metrics.info({ listen: `${settings.metrics.host}:${settings.metrics.port}` }, 'serving metrics on /metrics');
  }
  let watcher: FSWatcher | undefined = watch(configPath, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 150, pollInterval: 50 } });
  watcher.on('change', () => void exclusive('config', () => reload('file changed')));
  watcher.on('add', () => void exclusive('config', () => reload('file replaced')));
  const onHangup = () => void exclusive('config', () => reload('SIGHUP'));
  process.on('SIGHUP', onHangup);

  // `on`, not `once`: execa's child cleanup (signal-exit) re-raises a signal when it finds itself the only
  // listener, and a listener of ours removed on first call could leave it alone and kill the daemon mid-exit.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.on('SIGTERM', () => resolve('SIGTERM'));
    process.on('SIGINT', () => resolve('SIGINT'));
  });
  logs.config.info({ signal, flushOnExit: settings.flushOnExit }, 'shutting down');
  clearInterval(checkTimer);
  clearInterval(reapTimer);
  clearInterval(deliveryTimer);
  await rulesetWatch?.stop();
  process.off('SIGHUP', onHangup);
  await watcher.close();
  watcher = undefined;
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await queue;
  await sources?.stop();
  sources = undefined;
  await fleet?.stop();
  fleet = undefined;
  if (settings.flushOnExit) {
    for (const failed of emptyJailLists(context, context.config.jails).filter((outcome) => !outcome.ok)) {
      logs.repair.error({ list: failed.list, error: failed.error }, 'flush on exit failed');
    }
    logs.repair.info('kernel lists flushed on exit (the store keeps the bans)');
  } else {
    logs.repair.info('bans left in the kernel: they keep working without the daemon');
  }
  context.closeStore();
  lock.release();
  return ExitCode.ok;
}
