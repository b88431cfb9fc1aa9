import { dirname } from 'node:path';
import { diagnose, exchange, type Exchange } from '../adapters/remote.js';
import { settleBatch } from '../core/delivery.js';
import type { OutboxItem } from '../adapters/ban-store.js';
import type { BanDecision } from '../core/bans.js';
import type { JailConfig, RemoteTarget } from '../core/domain.js';
import type { Ports } from './ports.js';
import { daemonRunning } from '../adapters/daemon-lock.js';

// Requests for central firewalls: queued with the bans in the store, delivered in order over ssh to
// `xtban serve`, set aside when refused for good. The CLI, serve and the daemon all come here.

const BATCH = 1000;

// The state directory, where ssh keeps its control sockets.
export function stateDirOf(context: Ports): string {
  return dirname(context.store().location);
}

// The requests for a jail's central firewalls that a set of bans needs (queued with the bans themselves).
export function remoteBanRequests(jails: readonly JailConfig[], decisions: readonly BanDecision[]): Omit<OutboxItem, 'seq' | 'created'>[] {
  return decisions.flatMap((decision) =>
    (jails.find((jail) => jail.name === decision.record.jail)?.remotes ?? []).map((target) => ({
      target,
      verb: 'ban' as const,
      jail: decision.record.jail,
      address: decision.record.address,
    })),
  );
}

// Queues a jail's bans, unbans or flush for each of its central firewalls (in the store, durable).
export function enqueueRemote(context: Ports, jail: JailConfig, verb: OutboxItem['verb'], addresses: readonly string[]): void {
  if (jail.remotes.length === 0) return;
  const items = jail.remotes.flatMap((target): Omit<OutboxItem, 'seq' | 'created'>[] =>
    (verb === 'flush' ? [''] : addresses).map((address) => ({ target, verb, jail: jail.name, address })),
  );
  context.store().enqueue(items, Date.now());
}

export interface DeliveryReport {
  target: string;
  delivered: number;
  // Refused for good by the firewall in this delivery: moved aside as dead letters.
  refused: { request: string; answer: string }[];
  left: number;
  failure: string | undefined;
  hint: string | undefined;
}

// How requests reach a firewall: `exchange` over ssh, or a stand-in in tests.
export type Transport = (target: RemoteTarget, lines: readonly string[], controlDir: string | undefined) => Promise<Exchange>;

// Sends a target's queued requests in order, in batches over one ssh session each. A request the
// firewall carried out leaves the queue; one it refused for good ("error refused: ...") is moved aside
// into the dead letters, so it never blocks the rest; at one that failed and may pass ("error failed:
// ...", no answer, ssh failing) delivery stops, and it and the later ones stay queued, in order.
// Request ids make a redelivery harmless.
export async function deliverOutbox(context: Ports, target: RemoteTarget, send: Transport = exchange): Promise<DeliveryReport> {
  const store = context.store();
  const log = context.log.child({ component: 'remote' });
  const instance = store.instance();
  const idOf = (seq: number) => `${instance}-${seq}`;
  const report: DeliveryReport = { target: target.name, delivered: 0, refused: [], left: 0, failure: undefined, hint: undefined };
  let firewallFailed = false;
  for (;;) {
    const items = store.pending(target.name, BATCH);
    if (items.length === 0) break;
    const sent = items.map((item) => ({ seq: item.seq, line: `@${idOf(item.seq)} ${item.verb} ${item.jail}${item.address === '' ? '' : ` ${item.address}`}` }));
    const result = await send(
      target,
      sent.map((request) => request.line),
      stateDirOf(context),
    );
    const settlement = settleBatch(sent, result.answers, idOf);
    store.settle(
      settlement.acknowledged,
      settlement.refused.map(({ seq, answer }) => ({ seq, answer })),
      Date.now(),
    );
    report.delivered += settlement.acknowledged.length;
    for (const { request, answer } of settlement.refused) {
      report.refused.push({ request, answer });
      // Once per request: it has left the queue.
      log.warn({ target: target.name, request, answer }, 'the firewall refused a request for good: moved aside (xtban remote check lists it)');
    }
    const stopped = settlement.stoppedAt;
    if (stopped !== undefined || !result.ok) {
      firewallFailed = stopped?.answer !== undefined;
      if (stopped?.answer !== undefined) {
        report.failure = `the firewall could not carry out ${stopped.request} now: ${stopped.answer}`;
        report.hint = 'it is sent again later; on the firewall, `xtban check` and `xtban status` show what its kernel lacks';
      } else if (stopped !== undefined) {
        report.failure = result.ok ? 'the firewall answered only part of the batch' : result.failure;
        report.hint = result.ok ? undefined : diagnose(result.failure);
      }
      break;
    }
  }
  report.left = store.outboxSizes().get(target.name) ?? 0;
  if (report.failure) {
    const what = firewallFailed
      ? 'the firewall failed to carry out a request (it may pass): requests stay queued'
      : 'firewall unreachable: requests stay queued';
    log.warn({ target: target.name, failure: report.failure, left: report.left }, what);
  }
  return report;
}

// Delivers now unless the daemon runs (it delivers continuously); says what happened per target.
export async function deliverIfNoDaemon(context: Ports, targets: readonly string[]): Promise<DeliveryReport[]> {
  if (targets.length === 0 || daemonRunning(stateDirOf(context))) return [];
  const reports: DeliveryReport[] = [];
  for (const name of new Set(targets)) {
    const target = context.config.remotes.get(name);
    if (target) reports.push(await deliverOutbox(context, target));
  }
  return reports;
}
