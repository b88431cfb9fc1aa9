import { join } from 'node:path';
import { stateDirOf } from '../app/remote.js';
import { writeFileAtomic } from '../adapters/atomic-file.js';
import { FLEET_TARGET } from '../adapters/ban-store.js';
import { connectFleet, type FleetBroker, type FleetFollow, type FleetMessage } from '../adapters/fleet-broker.js';
import {
  applyFleetMessages,
  FLEET_STATUS_FILE,
  fleetPosition,
  publishFleetOutbox,
  resyncFromLive,
  type FleetApplyReport,
  type FleetLive,
} from '../app/fleet.js';
import type { Ports } from '../app/ports.js';
import { retryDelayMs } from '../core/delivery.js';
import type { FleetConfig } from '../core/domain.js';
import type { Logger } from '../logger.js';

// The daemon's part in the fleet: connect (and keep reconnecting), make the streams if missing, catch up
// from the store's position or resync from the live bans when the stream no longer keeps it, follow
// the decisions as they come, and publish the outbox in order. Every decision goes through the use
// cases of app/fleet.ts; this file only runs them.

export interface FleetEvents {
  applied(report: FleetApplyReport): void;
  published(count: number): void;
}

export interface FleetRunner {
  // Publishes the outbox now (the daemon calls it after its own bans).
  nudge(): void;
  state(): FleetLive;
  stop(): Promise<void>;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Refusals are logged at most once a minute per reason (a hostile publisher must not flood the journal);
// every one is counted.
function refusalLogger(log: Logger) {
  const last = new Map<string, number>();
  const suppressed = new Map<string, number>();
  return (refused: FleetApplyReport['refused']) => {
    const now = Date.now();
    for (const refusal of refused) {
      if (now - (last.get(refusal.reason) ?? 0) < 60_000) {
        suppressed.set(refusal.reason, (suppressed.get(refusal.reason) ?? 0) + 1);
        continue;
      }
      const more = suppressed.get(refusal.reason) ?? 0;
      suppressed.delete(refusal.reason);
      last.set(refusal.reason, now);
      log.warn(
        { reason: refusal.reason, seq: refusal.seq, ...(more > 0 ? { suppressed: more } : {}) },
        `refused a fleet decision (${refusal.reason}): ${refusal.detail}${more > 0 ? ` (and ${more} more of this kind in the last minute)` : ''}`,
      );
    }
  };
}

export function startFleet(context: () => Ports, fleet: FleetConfig, log: Logger, events: FleetEvents): FleetRunner {
  const abort = new AbortController();
  const logRefusals = refusalLogger(log);
  const live: FleetLive = {
    connected: false,
    server: undefined,
    streamFirst: 0,
    streamLast: 0,
    retentionSeconds: undefined,
    lastError: undefined,
    updatedAt: Date.now(),
  };
  const statusFile = () => join(stateDirOf(context()), FLEET_STATUS_FILE);
  let statusDirty = true;
  const changed = () => {
    live.updatedAt = Date.now();
    statusDirty = true;
  };
  const statusTimer = setInterval(() => {
    if (!statusDirty) return;
    statusDirty = false;
    writeFileAtomic(statusFile(), `${JSON.stringify(live)}\n`).catch((error: unknown) =>
      log.error({ error: message(error) }, 'writing the fleet status failed'),
    );
  }, 500);

  let broker: FleetBroker | undefined;
  let follow: FleetFollow | undefined;
  let stopped = false;
  // One thing at a time on the store's position: a batch, a resync.
  let work: Promise<void> = Promise.resolve();
  const serial = (task: () => Promise<void>) => {
    work = work.then(task).catch((error: unknown) => {
      live.lastError = message(error);
      changed();
      log.error({ error: message(error) }, 'fleet work failed');
    });
    return work;
  };

  const onBatch = async (delivered: FleetMessage[]) => {
    if (stopped) return;
    // What a consumer followed again, or the stream read again after a resync, delivers a second time:
    // the position says it was applied (or covered by the live bans read after it).
    const messages = delivered.filter((message) => message.seq > fleetPosition(context()));
    if (messages.length === 0) return;
    const expected = fleetPosition(context()) + 1;
    const first = messages[0];
    if (first !== undefined && first.seq > expected && broker !== undefined) {
      // Decisions between the position and this one are gone from the stream (aged out while this host
      // was away, or the ordered consumer came back after them): resync, then go on past them.
      const position = await broker.position();
      if (position.first > expected) {
        log.warn(
          { position: expected - 1, streamFirst: position.first },
          'the fleet stream no longer keeps decisions this host missed: resyncing from the live bans',
        );
        await resync();
      }
    }
    const report = applyFleetMessages(context(), messages);
    const last = messages.at(-1);
    if (last !== undefined) live.streamLast = Math.max(live.streamLast, last.seq + last.pending);
    logRefusals(report.refused);
    events.applied(report);
    if (report.banned + report.unbanned > 0)
      log.info(
        { banned: report.banned, unbanned: report.unbanned, position: report.position },
        `applied ${report.banned} ban(s) and ${report.unbanned} unban(s) from the fleet`,
      );
    changed();
  };

  const resync = async () => {
    if (broker === undefined) return;
    const { messages, decisionsLast } = await broker.snapshot();
    const report = resyncFromLive(context(), messages, decisionsLast);
    logRefusals(report.refused);
    events.applied(report);
    log.info(
      { banned: report.banned, unbanned: report.unbanned, position: decisionsLast },
      `resynced from the fleet's live bans: ${report.banned} ban(s), ${report.unbanned} unban(s)`,
    );
  };

  const startFollowing = async () => {
    if (broker === undefined || stopped) return;
    const position = await broker.position();
    live.streamFirst = position.first;
    live.streamLast = position.last;
    const at = fleetPosition(context());
    // A new host, or one away longer than the stream keeps decisions: the live bans first.
    if ((at === 0 && position.first > 1) || (at > 0 && position.first > at + 1)) {
      log.warn(
        { position: at, streamFirst: position.first },
        at === 0 ? 'joining the fleet: reading its live bans' : 'this host was away longer than the fleet stream keeps decisions: resyncing from the live bans',
      );
      await resync();
    }
    const from = fleetPosition(context()) + 1;
    await follow?.stop();
    follow = await broker.follow(
      from,
      (messages) => serial(() => onBatch(messages)),
      (notice) => log.info({ notice }, 'fleet consumer notice'),
    );
    log.info({ from, streamLast: position.last }, `following the fleet from decision ${from} (the stream is at ${position.last})`);
    follow.done.then(
      () => undefined,
      (error: unknown) => log.warn({ error: message(error) }, 'following the fleet stopped'),
    );
  };

  // Publishing: in order, one run at a time, retried with a growing delay after a failure.
  let failures = 0;
  let notBefore = 0;
  // The run in flight, which stop() waits for before the store closes.
  let publishRun: Promise<void> | undefined;
  const publish = (): Promise<void> => {
    if (publishRun !== undefined || broker === undefined || stopped || !live.connected || Date.now() < notBefore) return publishRun ?? Promise.resolve();
    const current = broker;
    publishRun = (async () => {
      if ((context().store().outboxSizes().get(FLEET_TARGET) ?? 0) === 0) return;
      const report = await publishFleetOutbox(context(), (decision) => current.publish(decision));
      if (report.published > 0) {
        events.published(report.published);
        log.info({ published: report.published, left: report.left }, `published ${report.published} decision(s) to the fleet`);
      }
      if (report.failure !== undefined) {
        failures++;
        notBefore = Date.now() + retryDelayMs(failures);
        live.lastError = `publishing: ${report.failure}`;
        changed();
        log.warn({ failure: report.failure, left: report.left }, 'publishing to the fleet failed: decisions wait in the outbox, in order');
      } else failures = 0;
    })()
      // The store failing (busy, its disk full) is said and tried again later; it never ends the daemon.
      .catch((error: unknown) => {
        failures++;
        notBefore = Date.now() + retryDelayMs(failures);
        log.error({ error: message(error) }, 'publishing to the fleet failed: decisions wait in the outbox, in order');
      })
      .finally(() => {
        publishRun = undefined;
      });
    return publishRun;
  };
  const publishTimer = setInterval(() => void publish(), 100);

  // Every 2 s: the stream's position, for the lag; and a watchdog. When the stream has decisions past
  // this host's position and the position did not move since the last look, following is started
  // again from the position (a consumer left behind by a server restart delivers nothing until then).
  let lastSeen = -1;
  let stalledLooks = 0;
  const watch = async () => {
    if (broker === undefined || stopped || !live.connected || follow === undefined) return;
    const position = await broker.position();
    const at = fleetPosition(context());
    if (position.first !== live.streamFirst || position.last !== live.streamLast || position.maxAgeSeconds !== live.retentionSeconds || at !== lastSeen) {
      live.streamFirst = position.first;
      live.streamLast = position.last;
      live.retentionSeconds = position.maxAgeSeconds;
      changed();
    }
    stalledLooks = position.last > at && at === lastSeen ? stalledLooks + 1 : 0;
    lastSeen = at;
    if (stalledLooks >= 2) {
      stalledLooks = 0;
      log.warn({ position: at, streamLast: position.last }, 'the fleet consumer delivers nothing while decisions wait: following again from the position');
      await startFollowing();
    }
  };
  const watchTimer = setInterval(() => void serial(watch), 2000);

  void (async () => {
    let lastFailure = '';
    try {
      broker = await connectFleet(fleet, abort.signal, (error, attempt) => {
        live.lastError = message(error);
        changed();
        // Said once per kind of failure, not at every try.
        if (live.lastError === lastFailure) return;
        lastFailure = live.lastError;
        log.warn(
          { error: live.lastError, attempt, servers: fleet.servers },
          `cannot connect to the fleet (trying again, at most every 30 s): ${live.lastError}; local bans go on, decisions wait in the outbox`,
        );
      });
    } catch {
      return;
    }
    if (stopped) {
      await broker.close();
      return;
    }
    live.connected = true;
    live.server = broker.server();
    live.lastError = undefined;
    changed();
    log.info({ server: live.server, name: fleet.name }, `connected to the fleet as ${fleet.name}`);
    broker.onStatus((event) => {
      if (event.type === 'disconnect') {
        live.connected = false;
        live.server = undefined;
        changed();
        log.warn('disconnected from the fleet: local bans go on, decisions wait in the outbox');
      } else if (event.type === 'reconnect') {
        live.connected = true;
        live.server = event.server;
        changed();
        log.info({ server: event.server }, 'reconnected to the fleet');
        void publish();
      }
    });
    for (let attempt = 1; !stopped; attempt++) {
      try {
        const position = await broker.ensureStreams(fleet.retentionSeconds, fleet.replicas);
        live.retentionSeconds = position.maxAgeSeconds;
        if (position.maxAgeSeconds > 0 && position.maxAgeSeconds < fleet.retentionSeconds)
          log.warn(
            { streamRetention: position.maxAgeSeconds, wanted: fleet.retentionSeconds },
            `the fleet stream keeps decisions ${position.maxAgeSeconds}s, less than the longest shared window (${fleet.retentionSeconds}s): a host away longer resyncs from the live bans`,
          );
        await serial(startFollowing);
        break;
      } catch (error) {
        live.lastError = message(error);
        changed();
        log.warn({ error: message(error), attempt }, 'the fleet streams are not ready: trying again');
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * attempt)));
      }
    }
  })();

  return {
    nudge: () => void publish(),
    state: () => ({ ...live }),
    async stop() {
      stopped = true;
      abort.abort();
      clearInterval(publishTimer);
      clearInterval(statusTimer);
      clearInterval(watchTimer);
      await follow?.stop();
      await work;
      await publishRun;
      await broker?.close();
      live.connected = false;
      live.server = undefined;
      live.updatedAt = Date.now();
      await writeFileAtomic(statusFile(), `${JSON.stringify(live)}\n`).catch(() => undefined);
    },
  };
}
