import { dirname } from 'node:path';
import { diagnose, exchange } from '../adapters/remote.js';
import type { OutboxItem } from '../adapters/ban-store.js';
import type { BanDecision } from '../core/bans.js';
import type { JailConfig, RemoteTarget } from '../config/schema.js';
import { ExitCode, inputError } from '../core/errors.js';
import { kernelContext, type GlobalOptions, type KernelContext } from './context.js';
import { daemonRunning } from '../adapters/daemon-lock.js';
import { renderTable } from './output.js';
import { SERVE_PROTOCOL } from '../core/serve-protocol.js';

const BATCH = 1000;

function stateDirOf(context: KernelContext): string {
  return dirname(context.store().location);
}

// The requests for a jail's central firewalls that a set of bans needs (queued with the bans themselves).
export function remoteBanRequests(jails: readonly JailConfig[], decisions: readonly BanDecision[]): Omit<OutboxItem, 'seq' | 'created'>[] {
  return decisions.flatMap((decision) => (jails.find((jail) => jail.name === decision.record.jail)?.remotes ?? []).map((target) => ({ target, verb: 'ban' as const, jail: decision.record.jail, address: decision.record.address })));
}

// Queues a jail's bans, unbans or flush for each of its central firewalls (in the store, durable).
export function enqueueRemote(context: KernelContext, jail: JailConfig, verb: OutboxItem['verb'], addresses: readonly string[]): void {
  if (jail.remotes.length === 0) return;
  const items = jail.remotes.flatMap((target): Omit<OutboxItem, 'seq' | 'created'>[] =>
    (verb === 'flush' ? [''] : addresses).map((address) => ({ target, verb, jail: jail.name, address })),
  );
  context.store().enqueue(items, Date.now());
}

export interface DeliveryReport {
  target: string;
  delivered: number;
  refused: { request: string; answer: string }[];
  left: number;
  failure: string | undefined;
  hint: string | undefined;
}

// Sends a target's queued requests in order, in batches over one ssh session each. A request the
// firewall answered (ok, or error: refused on purpose) leaves the queue; after a transport failure the
// rest stays for later. Request ids make a redelivery harmless.
export async function deliverOutbox(context: KernelContext, target: RemoteTarget): Promise<DeliveryReport> {
  const store = context.store();
  const instance = store.instance();
  const report: DeliveryReport = { target: target.name, delivered: 0, refused: [], left: 0, failure: undefined, hint: undefined };
  for (;;) {
    const items = store.pending(target.name, BATCH);
    if (items.length === 0) break;
    const lines = items.map((item) => `@${instance}-${item.seq} ${item.verb} ${item.jail}${item.address === '' ? '' : ` ${item.address}`}`);
    const result = await exchange(target, lines, stateDirOf(context));
    const answered: number[] = [];
    for (const answer of result.answers) {
      const match = /^@[A-Za-z0-9]+-(\d+) (ok|error)\b(.*)$/.exec(answer);
      if (!match) continue;
      const seq = Number(match[1]);
      answered.push(seq);
      if (match[2] === 'ok') report.delivered++;
      else report.refused.push({ request: lines[items.findIndex((item) => item.seq === seq)] ?? String(seq), answer });
    }
    // In order: acknowledge only an unbroken run from the first request.
    const run: number[] = [];
    for (const item of items) {
      if (!answered.includes(item.seq)) break;
      run.push(item.seq);
    }
    store.acknowledge(run);
    if (!result.ok || run.length < items.length) {
      report.failure = result.ok ? 'the firewall answered only part of the batch' : result.failure;
      report.hint = result.ok ? undefined : diagnose(result.failure);
      break;
    }
  }
  report.left = store.outboxSizes().get(target.name) ?? 0;
  for (const refusal of report.refused) context.log.warn({ component: 'remote', target: target.name, request: refusal.request, answer: refusal.answer }, 'the firewall refused a request');
  if (report.failure) context.log.warn({ component: 'remote', target: target.name, failure: report.failure, left: report.left }, 'firewall unreachable: requests stay queued');
  return report;
}

// Delivers now unless the daemon runs (it delivers continuously); says what happened per target.
export async function deliverIfNoDaemon(context: KernelContext, targets: readonly string[]): Promise<DeliveryReport[]> {
  if (targets.length === 0 || daemonRunning(stateDirOf(context))) return [];
  const reports: DeliveryReport[] = [];
  for (const name of new Set(targets)) {
    const target = context.config.remotes.get(name);
    if (target) reports.push(await deliverOutbox(context, target));
  }
  return reports;
}

// `xtban remote deliver`: sends every queued request now.
export async function remoteDeliverCommand(options: GlobalOptions): Promise<number> {
  const context = await kernelContext(options);
  try {
    const reports: DeliveryReport[] = [];
    for (const target of context.config.remotes.values()) reports.push(await deliverOutbox(context, target));
    context.out.result({ targets: reports });
    for (const report of reports) {
      context.out.line(`${report.target}: ${report.delivered} delivered, ${report.refused.length} refused, ${report.left} left${report.failure ? ` (${report.failure})` : ''}`);
      if (report.hint) context.out.note(`  hint: ${report.hint}`);
    }
    return reports.some((report) => report.left > 0) ? ExitCode.partial : ExitCode.ok;
  } finally {
    context.closeStore();
  }
}

// `xtban remote check`: every target reachable, key accepted, serve answering, jails permitted.
export async function remoteCheckCommand(options: GlobalOptions): Promise<number> {
  const context = await kernelContext(options);
  try {
    if (context.config.remotes.size === 0) throw inputError(`no [remotes] in ${context.config.source}`, 'define [remotes.NAME] with host (and port, user, key, known_hosts)');
    const sizes = context.store().outboxSizes();
    const results = [];
    for (const target of context.config.remotes.values()) {
      const wanted = context.config.jails.filter((jail) => jail.remotes.includes(target.name)).map((jail) => jail.name);
      const result = await exchange(target, ['ping'], stateDirOf(context), 15_000);
      const answer = result.answers[0] ?? '';
      let problem: string | undefined;
      let fix: string | undefined;
      if (!result.ok) {
        problem = result.failure;
        fix = diagnose(result.failure);
      } else if (!answer.startsWith(`ok ${SERVE_PROTOCOL}`)) {
        problem = `unexpected answer ${JSON.stringify(answer.slice(0, 200))}`;
        fix = 'the key must run `xtban serve --jails ...` as its forced command in authorized_keys';
      } else {
        const permitted = new Set((/ jails (\S*)$/.exec(answer)?.[1] ?? '').split(','));
        const missing = wanted.filter((jail) => !permitted.has(jail));
        if (missing.length > 0) {
          problem = `jails not permitted there: ${missing.join(', ')}`;
          fix = `add them to --jails of the forced command (command="xtban serve --jails ${[...permitted, ...missing].filter((name) => name !== '').join(',')}")`;
        }
      }
      results.push({ target: target.name, host: target.host, ok: problem === undefined, jails: wanted, queued: sizes.get(target.name) ?? 0, problem: problem ?? null, fix: fix ?? null });
    }
    context.out.result({ targets: results });
    context.out.line(
      renderTable([
        ['TARGET', 'HOST', 'STATE', 'JAILS', 'QUEUED'],
        ...results.map((result) => [result.target, result.host, result.ok ? 'ok' : 'FAIL', result.jails.join(',') || '-', String(result.queued)]),
      ]),
    );
    for (const result of results) if (!result.ok) context.out.line(`${result.target}: ${result.problem}\n  fix: ${result.fix}`);
    return results.every((result) => result.ok) ? ExitCode.ok : ExitCode.partial;
  } finally {
    context.closeStore();
  }
}
