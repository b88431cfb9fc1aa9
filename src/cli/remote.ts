import { dirname } from 'node:path';
import { diagnose, exchange, type Exchange } from '../adapters/remote.js';
import { settleBatch } from '../core/delivery.js';
import type { OutboxItem } from '../adapters/ban-store.js';
import type { BanDecision } from '../core/bans.js';
import type { JailConfig, RemoteTarget } from '../config/schema.js';
import { ExitCode, inputError } from '../core/errors.js';
import { kernelContext, type GlobalOptions, type KernelContext } from './context.js';
import { daemonRunning } from '../adapters/daemon-lock.js';
import { renderTable } from './output.js';
import { SERVE_PROTOCOL } from '../core/serve-protocol.js';

const BATCH = 1000;
// How many of a target's dead letters `remote check` shows.
const DEAD_LETTERS_SHOWN = 5;

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
export async function deliverOutbox(context: KernelContext, target: RemoteTarget, send: Transport = exchange): Promise<DeliveryReport> {
  const store = context.store();
  const instance = store.instance();
  const idOf = (seq: number) => `${instance}-${seq}`;
  const report: DeliveryReport = { target: target.name, delivered: 0, refused: [], left: 0, failure: undefined, hint: undefined };
  let firewallFailed = false;
  for (;;) {
    const items = store.pending(target.name, BATCH);
    if (items.length === 0) break;
    const sent = items.map((item) => ({ seq: item.seq, line: `@${idOf(item.seq)} ${item.verb} ${item.jail}${item.address === '' ? '' : ` ${item.address}`}` }));
    const result = await send(target, sent.map((request) => request.line), stateDirOf(context));
    const settlement = settleBatch(sent, result.answers, idOf);
    store.settle(settlement.acknowledged, settlement.refused.map(({ seq, answer }) => ({ seq, answer })), Date.now());
    report.delivered += settlement.acknowledged.length;
    for (const { request, answer } of settlement.refused) {
      report.refused.push({ request, answer });
      // Once per request: it has left the queue.
      context.log.warn({ component: 'remote', target: target.name, request, answer }, 'the firewall refused a request for good: moved aside (xtban remote check lists it)');
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
    const what = firewallFailed ? 'the firewall failed to carry out a request (it may pass): requests stay queued' : 'firewall unreachable: requests stay queued';
    context.log.warn({ component: 'remote', target: target.name, failure: report.failure, left: report.left }, what);
  }
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
      context.out.line(`${report.target}: ${report.delivered} delivered, ${report.refused.length} refused for good and set aside, ${report.left} left${report.failure ? ` (${report.failure})` : ''}`);
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
    const deadCounts = context.store().deadLetterCounts();
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
      const rights = / rights (\S+) /.exec(answer)?.[1] ?? null;
      const deadLetters = deadCounts.get(target.name) ?? 0;
      const newestDeadLetters = context.store().deadLetters(target.name, DEAD_LETTERS_SHOWN).map((letter) => ({
        request: `${letter.verb} ${letter.jail}${letter.address === '' ? '' : ` ${letter.address}`}`,
        queuedAt: new Date(letter.created).toISOString(),
        refusedAt: new Date(letter.refusedAt).toISOString(),
        answer: letter.answer,
      }));
      results.push({ target: target.name, host: target.host, ok: problem === undefined, jails: wanted, rights, queued: sizes.get(target.name) ?? 0, deadLetters, newestDeadLetters, problem: problem ?? null, fix: fix ?? null });
    }
    context.out.result({ targets: results });
    context.out.line(
      renderTable([
        ['TARGET', 'HOST', 'STATE', 'JAILS', 'RIGHTS', 'QUEUED', 'REFUSED'],
        ...results.map((result) => [result.target, result.host, result.ok ? 'ok' : 'FAIL', result.jails.join(',') || '-', result.rights ?? '-', String(result.queued), String(result.deadLetters)]),
      ]),
    );
    for (const result of results) if (!result.ok) context.out.line(`${result.target}: ${result.problem}\n  fix: ${result.fix}`);
    for (const result of results) {
      if (result.deadLetters === 0) continue;
      context.out.line(`${result.target}: ${result.deadLetters} request(s) refused for good by the firewall and set aside (newest first):`);
      for (const letter of result.newestDeadLetters) context.out.line(`  ${letter.refusedAt}  ${letter.request}  ->  ${letter.answer}`);
      context.out.line(`  fix: correct what the answers say (on the firewall: --jails, --key rights, the safelist; here: the jail's remote), then \`xtban remote forget-dead ${result.target}\``);
    }
    // Requests set aside are a warning: the firewall never acted on them.
    return results.every((result) => result.ok && result.deadLetters === 0) ? ExitCode.ok : ExitCode.partial;
  } finally {
    context.closeStore();
  }
}

// `xtban remote forget-dead [TARGET]`: removes the requests a firewall refused for good (every
// target's without one), once the administrator has read them and fixed what they say.
export async function remoteForgetDeadCommand(target: string | undefined, options: GlobalOptions): Promise<number> {
  const context = await kernelContext(options);
  try {
    if (target !== undefined && !context.config.remotes.has(target) && !context.store().deadLetterCounts().has(target)) {
      throw inputError(`remote forget-dead: no target named ${JSON.stringify(target)} in ${context.config.source} and no requests set aside for one`, '`xtban remote check` lists the targets and what each has set aside');
    }
    const forgotten = context.store().forgetDeadLetters(target);
    context.out.result({ target: target ?? null, forgotten });
    context.out.line(`${forgotten} request(s) set aside${target === undefined ? '' : ` for ${target}`} forgotten`);
    return ExitCode.ok;
  } finally {
    context.closeStore();
  }
}
