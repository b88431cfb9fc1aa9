import { FLEET_TARGET, type OutboxItem } from '../adapters/ban-store.js';
import type { FleetMessage } from '../adapters/fleet-broker.js';
import { parseAddress, type Address } from '../core/address.js';
import { tierWindowSeconds } from '../core/bans.js';
import type { JailConfig } from '../core/domain.js';
import { fleetSource } from '../core/fleet.js';
import { decodeFleetDecision, type FleetDecision, type FleetRefusal } from '../core/fleet-message.js';
import { admitAddress, banInJails, unbanInProcess } from './ban-pipeline.js';
import type { Ports } from './ports.js';

// The fleet's use cases: publish this host's decisions in order from the outbox, apply the other hosts'
// through the same ban pipeline as every local ban (safelist, own addresses, placement), keep the
// stream position in the store, and say where it all stands. The daemon runs them; `xtban fleet
// status` reads what they kept.

// Why a received decision was not applied: the decoder's reasons, and the receiver's own rules.
export type FleetRefusalReason = FleetRefusal | 'safelisted' | 'not-admitted';

// Where the daemon keeps what it knows of its connection, in the state directory, for `fleet status`.
export const FLEET_STATUS_FILE = 'fleet-status.json';

const POSITION = 'fleet.position';
const ORIGIN_PREFIX = 'fleet.origin.';
const REFUSED_PREFIX = 'fleet.refused.';
const RESYNCS = 'fleet.resyncs';

// The last decision received from one origin, as kept in the store.
export interface OriginSeen {
  origin: string;
  seq: number;
  // When the origin decided, and when this host applied it (ms).
  at: number;
  receivedAt: number;
  // Decisions of this origin applied here, ever.
  applied: number;
}

// What applying a batch did.
export interface FleetApplyReport {
  banned: number;
  unbanned: number;
  refused: { reason: FleetRefusalReason; detail: string; seq: number }[];
  // The stream sequence applied last (the store's position).
  position: number;
}

// The shared jails of this host, by name.
export function sharedJails(jails: readonly JailConfig[]): Map<string, JailConfig> {
  return new Map(jails.filter((jail) => jail.fleet).map((jail) => [jail.name, jail]));
}

// The stream sequence this host applied last (0: none yet).
export function fleetPosition(context: Ports): number {
  const value = Number(context.store().meta(POSITION) ?? '0');
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

interface Admitted {
  decision: FleetDecision;
  jail: JailConfig;
  address: Address;
}

// Decodes and admits messages: hostile ones and those this host's own rules refuse are set aside with
// their reason; the host's own decisions coming back (it reads the whole stream) are passed over.
function admitMessages(context: Ports, messages: readonly FleetMessage[], refused: FleetApplyReport['refused']): Admitted[] {
  const self = context.config.fleet?.name ?? '';
  const shared = sharedJails(context.config.jails);
  const names = new Set(shared.keys());
  const admitted: Admitted[] = [];
  for (const message of messages) {
    const decoded = decodeFleetDecision(message.subject, message.data, { self, jails: names });
    if (!decoded.ok) {
      if (decoded.refusal !== 'echo') refused.push({ reason: decoded.refusal, detail: decoded.detail, seq: message.seq });
      continue;
    }
    const { decision } = decoded;
    const jail = shared.get(decision.jail);
    if (jail === undefined) continue;
    // The receiver's safelist and own addresses, on the parsed address, as for any ban made here.
    const admission = admitAddress(context, jail, decision.address, decision.action === 'ban' ? 'ban' : 'lift');
    if ('refused' in admission) {
      refused.push({
        // admitAddress refuses a family the jail does not take, and (the decoder having refused what no
        // host sends from) a safelisted network: told apart on the parsed address, not on the message.
        reason: jail.families.includes(decision.address.family) ? 'safelisted' : 'not-admitted',
        detail: `${decision.origin}'s ${decision.action} of ${decision.address.text} in ${decision.jail}: ${admission.refused}`,
        seq: message.seq,
      });
      continue;
    }
    admitted.push({ decision, jail, address: admission.address });
  }
  return admitted;
}

// Applies received messages in order: each is decoded (refused if hostile), admitted by this host's own
// rules (safelist, own addresses, the jail's families), and banned or unbanned through the pipeline
// with the source fleet:<origin>, so it is never published again. The position moves past every
// message, applied or refused, so that none is read twice.
export function applyFleetMessages(context: Ports, messages: readonly FleetMessage[], nowMs: number = Date.now()): FleetApplyReport {
  const report: FleetApplyReport = { banned: 0, unbanned: 0, refused: [], position: fleetPosition(context) };
  applyAdmitted(context, admitMessages(context, messages, report.refused), report, nowMs);
  const last = messages.at(-1)?.seq;
  if (last !== undefined && last > report.position) {
    report.position = last;
    context.store().setMeta(POSITION, String(last));
  }
  return report;
}

// Bans in a row go to the pipeline together, one call per origin (one transaction, one read of each
// jail's lists); an unban, or an address a second time, ends the run, so that order holds.
function applyAdmitted(context: Ports, admitted: readonly Admitted[], report: FleetApplyReport, nowMs: number): void {
  let run: Admitted[] = [];
  const flush = () => {
    const byOrigin = new Map<string, Admitted[]>();
    for (const item of run) byOrigin.set(item.decision.origin, [...(byOrigin.get(item.decision.origin) ?? []), item]);
    for (const [origin, items] of byOrigin) {
      const jails = [...new Map(items.map((item) => [item.jail.name, item.jail])).values()];
      banInJails(
        context,
        jails,
        items.map((item) => ({
          jail: item.jail.name,
          address: item.address,
          origin: {
            source: fleetSource(origin),
            reason: item.decision.reason,
            permanent: item.decision.permanent,
            minTier: item.decision.tier,
          },
        })),
        { source: fleetSource(origin), reason: null, permanent: false },
      );
    }
    report.banned += run.length;
    run = [];
  };
  const inRun = new Set<string>();
  for (const item of admitted) {
    const key = `${item.jail.name} ${item.address.text}`;
    if (item.decision.action === 'unban' || inRun.has(key)) {
      flush();
      inRun.clear();
    }
    if (item.decision.action === 'unban') {
      unbanInProcess(context, item.jail, [item.address], fleetSource(item.decision.origin));
      report.unbanned++;
      continue;
    }
    run.push(item);
    inRun.add(key);
  }
  flush();
  noteOrigins(context, admitted, nowMs);
  countRefusals(context, report.refused);
}

// The last decision of each origin, and how many were applied, kept in the store for status.
function noteOrigins(context: Ports, admitted: readonly Admitted[], nowMs: number): void {
  const seen = new Map<string, OriginSeen>();
  for (const { decision } of admitted) {
    const before = seen.get(decision.origin) ?? readOrigin(context, decision.origin);
    seen.set(decision.origin, {
      origin: decision.origin,
      seq: Math.max(before?.seq ?? 0, decision.seq),
      at: decision.at,
      receivedAt: nowMs,
      applied: (before?.applied ?? 0) + 1,
    });
  }
  for (const origin of seen.values()) context.store().setMeta(`${ORIGIN_PREFIX}${origin.origin}`, JSON.stringify(origin));
}

function readOrigin(context: Ports, origin: string): OriginSeen | undefined {
  const text = context.store().meta(`${ORIGIN_PREFIX}${origin}`);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as OriginSeen;
  } catch {
    return undefined;
  }
}

function countRefusals(context: Ports, refused: readonly { reason: FleetRefusalReason }[]): void {
  const store = context.store();
  const counts = new Map<string, number>();
  for (const { reason } of refused) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  for (const [reason, count] of counts) store.setMeta(`${REFUSED_PREFIX}${reason}`, String(Number(store.meta(`${REFUSED_PREFIX}${reason}`) ?? '0') + count));
}

// A resync from the live bans, for a host whose position the decisions stream no longer keeps: for each
// jail and address, the newest decision of any other origin (the highest sequence of the live stream)
// is what holds. A ban whose window ran out at its origin is left; an unban lifts a ban this host still
// has. The position then goes to where the decisions stream stood before the live bans were read, and
// following goes on from there (a decision read twice only refreshes a ban).
export function resyncFromLive(context: Ports, messages: readonly FleetMessage[], decisionsLast: number, nowMs: number = Date.now()): FleetApplyReport {
  const report: FleetApplyReport = { banned: 0, unbanned: 0, refused: [], position: decisionsLast };
  const newest = new Map<string, { seq: number; item: Admitted }>();
  for (const message of messages) {
    for (const item of admitMessages(context, [message], report.refused)) {
      const key = `${item.jail.name} ${item.address.text}`;
      const held = newest.get(key);
      if (held === undefined || held.seq < message.seq) newest.set(key, { seq: message.seq, item });
    }
  }
  const holding = [...newest.values()]
    .filter(
      ({ item: { decision, jail } }) =>
        decision.action === 'unban' || decision.permanent || decision.at + tierWindowSeconds(decision.tier, jail.tierWindows) * 1000 > nowMs,
    )
    .sort((a, b) => a.seq - b.seq)
    .map(({ item }) => item);
  applyAdmitted(context, holding, report, nowMs);
  const store = context.store();
  store.setMeta(POSITION, String(decisionsLast));
  store.setMeta(RESYNCS, String(Number(store.meta(RESYNCS) ?? '0') + 1));
  return report;
}

// One outbox item as the decision it publishes.
export function decisionOf(item: OutboxItem, origin: string): FleetDecision | undefined {
  if (item.verb !== 'ban' && item.verb !== 'unban') return undefined;
  let address: Address;
  try {
    address = parseAddress(item.address, 'address');
  } catch {
    return undefined;
  }
  return {
    origin,
    seq: item.seq,
    action: item.verb,
    jail: item.jail,
    address,
    permanent: item.verb === 'ban' && item.permanent === true,
    tier: item.tier ?? 0,
    reason: item.reason ?? null,
    at: item.created,
  };
}

export interface FleetPublishReport {
  published: number;
  left: number;
  failure: string | undefined;
}

// How many decisions are in flight at once: each a distinct address, so the order that matters (a
// ban and its unban) is kept whatever JetStream acknowledges first.
const PUBLISH_WINDOW = 64;

// Publishes the fleet's outbox in order: a decision leaves the outbox once JetStream has stored it (both
// streams acknowledged). Decisions of distinct addresses go out together, up to PUBLISH_WINDOW; one of
// the same address as an earlier one waits for it. At the first failure publishing stops: that
// decision and every later one stay, in order, and are published again (a decision stored twice is
// kept once: its id is origin:seq).
export async function publishFleetOutbox(context: Ports, publish: (decision: FleetDecision) => Promise<void>): Promise<FleetPublishReport> {
  const origin = context.config.fleet?.name;
  const store = context.store();
  const report: FleetPublishReport = { published: 0, left: 0, failure: undefined };
  if (origin === undefined) return report;
  outer: for (;;) {
    const items = store.pending(FLEET_TARGET, 1000);
    if (items.length === 0) break;
    for (let start = 0; start < items.length; ) {
      const window: OutboxItem[] = [];
      const keys = new Set<string>();
      for (let index = start; index < items.length && window.length < PUBLISH_WINDOW; index++) {
        const item = items[index] as OutboxItem;
        const key = `${item.jail} ${item.address}`;
        if (keys.has(key)) break;
        keys.add(key);
        window.push(item);
      }
      start += window.length;
      const results = await Promise.allSettled(
        window.map((item) => {
          const decision = decisionOf(item, origin);
          return decision === undefined ? Promise.resolve(false) : publish(decision).then(() => true);
        }),
      );
      // The outbox keeps its order: acknowledged up to the first that failed.
      const failedAt = results.findIndex((result) => result.status === 'rejected');
      const done = failedAt === -1 ? window : window.slice(0, failedAt);
      store.acknowledge(done.map((item) => item.seq));
      report.published += results.slice(0, done.length).filter((result) => result.status === 'fulfilled' && result.value).length;
      if (failedAt !== -1) {
        const reason = (results[failedAt] as PromiseRejectedResult).reason;
        report.failure = reason instanceof Error ? reason.message : String(reason);
        break outer;
      }
    }
  }
  report.left = store.outboxSizes().get(FLEET_TARGET) ?? 0;
  return report;
}

// What the daemon knows of its connection now (absent when no daemon runs).
export interface FleetLive {
  connected: boolean;
  server: string | undefined;
  streamFirst: number;
  streamLast: number;
  retentionSeconds: number | undefined;
  lastError: string | undefined;
  updatedAt: number;
}

export interface FleetStatus {
  name: string;
  servers: string[];
  sharedJails: string[];
  daemon: FleetLive | undefined;
  position: number;
  // Decisions in the stream this host has not applied yet (unknown without a daemon's view).
  lag: number | undefined;
  outbox: number;
  origins: OriginSeen[];
  refused: Record<string, number>;
  resyncs: number;
  // The stream keeps less than the longest shared window: a host down that long misses bans.
  retentionShort: boolean;
}

// `xtban fleet status` and the metrics: the store's figures, and the daemon's view when it runs.
export function collectFleetStatus(context: Ports, live: FleetLive | undefined): FleetStatus | undefined {
  const fleet = context.config.fleet;
  if (fleet === undefined) return undefined;
  const store = context.store();
  const position = fleetPosition(context);
  const origins: OriginSeen[] = [];
  const refused: Record<string, number> = {};
  for (const [key, value] of store.metaEntries('fleet.')) {
    if (key.startsWith(ORIGIN_PREFIX)) {
      try {
        origins.push(JSON.parse(value) as OriginSeen);
      } catch {
        // a value this xtban did not write: left out
      }
    } else if (key.startsWith(REFUSED_PREFIX)) refused[key.slice(REFUSED_PREFIX.length)] = Number(value);
  }
  origins.sort((a, b) => a.origin.localeCompare(b.origin));
  return {
    name: fleet.name,
    servers: fleet.servers,
    sharedJails: [...sharedJails(context.config.jails).keys()],
    daemon: live,
    position,
    lag: live === undefined ? undefined : Math.max(0, live.streamLast - position),
    outbox: store.outboxSizes().get(FLEET_TARGET) ?? 0,
    origins,
    refused,
    resyncs: Number(store.meta(RESYNCS) ?? '0'),
    retentionShort: live?.retentionSeconds !== undefined && live.retentionSeconds > 0 && live.retentionSeconds < fleet.retentionSeconds,
  };
}
