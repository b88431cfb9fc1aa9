import { diagnose, exchange } from '../adapters/remote.js';
import type { RemoteCheckOptions, RemoteDeliverOptions, RemoteForgetDeadOptions } from './commands.js';
import { ExitCode, inputError } from '../core/errors.js';
import { kernelContext } from './context.js';
import { deliverOutbox, stateDirOf, type DeliveryReport } from '../app/remote.js';
import { renderTable } from './output.js';
import { SERVE_PROTOCOL } from '../core/serve-protocol.js';

// How many of a target's dead letters `remote check` shows.
const DEAD_LETTERS_SHOWN = 5;

// `xtban remote deliver`: sends every queued request now.
export async function remoteDeliverCommand(options: RemoteDeliverOptions): Promise<number> {
  const context = await kernelContext(options);
  try {
    const reports: DeliveryReport[] = [];
    for (const target of context.config.remotes.values()) reports.push(await deliverOutbox(context, target));
    context.out.result({ targets: reports });
    for (const report of reports) {
      context.out.line(
        `${report.target}: ${report.delivered} delivered, ${report.refused.length} refused for good and set aside, ${report.left} left${report.failure ? ` (${report.failure})` : ''}`,
      );
      if (report.hint) context.out.note(`  hint: ${report.hint}`);
    }
    return reports.some((report) => report.left > 0) ? ExitCode.partial : ExitCode.ok;
  } finally {
    context.closeStore();
  }
}

// `xtban remote check`: every target reachable, key accepted, serve answering, jails permitted.
export async function remoteCheckCommand(options: RemoteCheckOptions): Promise<number> {
  const context = await kernelContext(options);
  try {
    if (context.config.remotes.size === 0)
      throw inputError(`no [remotes] in ${context.config.source}`, 'define [remotes.NAME] with host (and port, user, key, known_hosts)');
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
      const newestDeadLetters = context
        .store()
        .deadLetters(target.name, DEAD_LETTERS_SHOWN)
        .map((letter) => ({
          request: `${letter.verb} ${letter.jail}${letter.address === '' ? '' : ` ${letter.address}`}`,
          queuedAt: new Date(letter.created).toISOString(),
          refusedAt: new Date(letter.refusedAt).toISOString(),
          answer: letter.answer,
        }));
      results.push({
        target: target.name,
        host: target.host,
        ok: problem === undefined,
        jails: wanted,
        rights,
        queued: sizes.get(target.name) ?? 0,
        deadLetters,
        newestDeadLetters,
        problem: problem ?? null,
        fix: fix ?? null,
      });
    }
    context.out.result({ targets: results });
    context.out.line(
      renderTable([
        ['TARGET', 'HOST', 'STATE', 'JAILS', 'RIGHTS', 'QUEUED', 'REFUSED'],
        ...results.map((result) => [
          result.target,
          result.host,
          result.ok ? 'ok' : 'FAIL',
          result.jails.join(',') || '-',
          result.rights ?? '-',
          String(result.queued),
          String(result.deadLetters),
        ]),
      ]),
    );
    for (const result of results) if (!result.ok) context.out.line(`${result.target}: ${result.problem}\n  fix: ${result.fix}`);
    for (const result of results) {
      if (result.deadLetters === 0) continue;
      context.out.line(`${result.target}: ${result.deadLetters} request(s) refused for good by the firewall and set aside (newest first):`);
      for (const letter of result.newestDeadLetters) context.out.line(`  ${letter.refusedAt}  ${letter.request}  ->  ${letter.answer}`);
      context.out.line(
        `  fix: correct what the answers say (on the firewall: --jails, --key rights, the safelist; here: the jail's remote), then \`xtban remote forget-dead ${result.target}\``,
      );
    }
    // Requests set aside are a warning: the firewall never acted on them.
    return results.every((result) => result.ok && result.deadLetters === 0) ? ExitCode.ok : ExitCode.partial;
  } finally {
    context.closeStore();
  }
}

// `xtban remote forget-dead [TARGET]`: removes the requests a firewall refused for good (every
// target's without one), once the administrator has read them and fixed what they say.
export async function remoteForgetDeadCommand(target: string | undefined, options: RemoteForgetDeadOptions): Promise<number> {
  const context = await kernelContext(options);
  try {
    if (target !== undefined && !context.config.remotes.has(target) && !context.store().deadLetterCounts().has(target)) {
      throw inputError(
        `remote forget-dead: no target named ${JSON.stringify(target)} in ${context.config.source} and no requests set aside for one`,
        '`xtban remote check` lists the targets and what each has set aside',
      );
    }
    const forgotten = context.store().forgetDeadLetters(target);
    context.out.result({ target: target ?? null, forgotten });
    context.out.line(`${forgotten} request(s) set aside${target === undefined ? '' : ` for ${target}`} forgotten`);
    return ExitCode.ok;
  } finally {
    context.closeStore();
  }
}
