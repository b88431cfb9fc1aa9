import { isLiveInTiers } from '../core/bans.js';
import type { ServeOptions } from './commands.js';
import { ExitCode, inputError, XtbanError } from '../core/errors.js';
import { validateJailName } from '../core/names.js';
import { failedAnswer, LineSplitter, parseRequest, refusedAnswer, requestIdOf, SERVE_PROTOCOL, type Request } from '../core/serve-protocol.js';
import { keptNote, mayEnd, ownerOf, rightsOf, validateKeyName, verbRefusal, type ServeRights } from '../core/serve-rights.js';
import type { Address } from '../core/address.js';
import { admitAddress, banInProcess, flushJails, unbanInProcess } from '../app/ban-pipeline.js';
import { kernelContext, type KernelContext } from './context.js';
import { withFreshSafelist } from '../adapters/fresh-safelist.js';

// Who is asking, for the whole session: the jails its forced command names, its key and what the
// firewall's config grants that key.
interface Session {
  peer: string;
  permitted: ReadonlySet<string>;
  key: string | undefined;
  // The source its bans record ("remote:KEY"): only these may it end with "own" rights.
  owner: string;
  rights: ServeRights;
}

// Carries out one request and returns its answer (without the id).
function answer(context: KernelContext, request: Request, session: Session): string {
  const { permitted, owner, rights } = session;
  if (request.verb === 'ping') return `ok ${SERVE_PROTOCOL} key ${session.key ?? '-'} rights ${rights} jails ${[...permitted].join(',')}`;
  const jail = context.config.jails.find((candidate) => candidate.name === request.jail);
  if (!jail) return refusedAnswer(`jail ${request.jail} is not configured here`);
  const notAllowed = verbRefusal(rights, request.verb, session.key);
  if (notAllowed !== undefined) return refusedAnswer(`${notAllowed}; nothing written`);
  // Only a ban is checked against the safelist: lifting or asking about an address is always allowed.
  const withoutSafelist: KernelContext = { ...context, safelist: { entries: [] } };
  if (request.verb === 'flush') {
    if (rights === 'own') {
      // Only this key's bans, and only their entries: never the firewall's own or another key's.
      const { ended, kept, outcomes } = flushJails(context, [jail], owner, { may: (record) => mayEnd(record, rights, owner) });
      const failed = outcomes.find((outcome) => !outcome.ok);
      return failed
        ? failedAnswer(`flush recorded, but the kernel refused: ${failed.error ?? 'a write failed'}`)
        : `ok flushed ${ended.get(jail.name) ?? 0}${kept.length > 0 ? `; ${kept.length} not ours, kept` : ''}`;
    }
    const { ended, outcomes } = flushJails(context, [jail], owner);
    const failed = outcomes.filter((outcome) => !outcome.ok);
    return failed.length === 0
      ? `ok flushed ${ended.get(jail.name) ?? 0}`
      : failedAnswer(`flush recorded, but the kernel refused: ${failed[0]?.error ?? 'a write failed'}`);
  }
  if (request.verb === 'query') {
    const admitted = admitAddress(withoutSafelist, jail, request.address, 'lift');
    if ('refused' in admitted) return refusedAnswer(admitted.refused);
    const record = context.store().get(jail.name, admitted.address.text);
    if (!record) return 'ok not-banned';
    const state = record.endedAt !== null ? 'ended' : record.permanent ? 'permanent' : isLiveInTiers(record, jail.tierWindows, Date.now()) ? 'live' : 'expired';
    return `ok ${state} offences ${record.offences} tier ${record.tier + 1}`;
  }
  const admitted: Address[] = [];
  for (const address of request.addresses) {
    const result = request.verb === 'ban' ? admitAddress(context, jail, address) : admitAddress(withoutSafelist, jail, address, 'lift');
    if ('refused' in result) return refusedAnswer(`${result.refused}; nothing written`);
    admitted.push(result.address);
  }
  if (request.verb === 'ban') {
    const { outcomes, placements } = banInProcess(context, jail, admitted, { source: owner, reason: `remote ${session.peer}`, permanent: false });
    const failed = outcomes.find((outcome) => !outcome.ok);
    if (failed) return failedAnswer(`recorded, but the kernel refused: ${failed.error}`);
    // Recorded all the same, and placed once there is room: said, so the server knows.
    const unplaced = [...placements.values()].filter((placement) => placement.kind === 'full').length;
    return `ok banned ${admitted.length}${unplaced > 0 ? `; ${unplaced} not placed: every list of the jail is full of live bans` : ''}`;
  }
  // The count is of bans that were live and are now ended: an address that was not banned is 0.
  if (rights === 'own') {
    const { ended, kept, outcomes } = unbanInProcess(context, jail, admitted, owner, { may: (record) => mayEnd(record, rights, owner) });
    const failed = outcomes.find((outcome) => !outcome.ok);
    return failed ? failedAnswer(`unban recorded, but the kernel refused: ${failed.error}`) : `ok unbanned ${ended.length}${keptNote(kept)}`;
  }
  const { ended, outcomes } = unbanInProcess(context, jail, admitted, owner);
  const failed = outcomes.find((outcome) => !outcome.ok);
  return failed ? failedAnswer(`unban recorded, but the kernel refused: ${failed.error}`) : `ok unbanned ${ended.length}`;
}

// An error thrown while answering, as an answer: bad input (an XtbanError of exit 2 or 4) is refused
// for good; anything else (the store, the kernel) failed and may pass.
function errorAnswer(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return error instanceof XtbanError && (error.exitCode === ExitCode.usage || error.exitCode === ExitCode.safelisted)
    ? refusedAnswer(text)
    : failedAnswer(text);
}

// `xtban serve --jails J,... [--key NAME]`: the forced command of a dedicated ssh key on a central
// firewall. Reads requests on stdin, answers each on stdout; runs no shell; refuses jails not named on
// its command line; lets the key end only the bans it made unless [serve.keys.NAME] grants more.
export async function serveCommand(options: ServeOptions): Promise<number> {
  if (options.jails === undefined) throw inputError('--jails is required: the jails this key may ban in', 'for example: xtban serve --jails ssh,web');
  const names = options.jails.split(',');
  for (const name of names) validateJailName(name, '--jails');
  if (options.key !== undefined) validateKeyName(options.key, '--key');
  // A session can last: every ban request is checked against the safelist as it is then.
  const loaded = await kernelContext(options);
  const context = withFreshSafelist(loaded, (problem) => loaded.log.error(problem));
  for (const name of names) {
    if (!context.config.jails.some((jail) => jail.name === name))
      throw inputError(`--jails: no jail named ${JSON.stringify(name)} in ${context.config.source}`);
  }
  const session: Session = {
    peer: (process.env['SSH_CLIENT'] ?? 'local').split(' ')[0] ?? 'local',
    permitted: new Set(names),
    key: options.key,
    owner: ownerOf(options.key),
    rights: rightsOf(context.config.serve.keys, options.key),
  };
  const write = (line: string) => process.stdout.write(`${line}\n`);
  // The id of a request with an id that failed (and may pass): later requests with ids are not carried
  // out, so that a client's queue, sent again from that request on, acts in the order it was made.
  let failedBefore: string | undefined;
  const splitter = new LineSplitter((line) => {
    if (typeof line !== 'string') {
      write(refusedAnswer('overlong' in line ? 'line too long' : 'binary data'));
      return;
    }
    if (line === '') return;
    const id = requestIdOf(line);
    const prefix = id === undefined ? '' : `@${id} `;
    let reply: string;
    try {
      const request = parseRequest(line, session.permitted);
      if (request.id !== undefined && failedBefore !== undefined) {
        reply = failedAnswer(`not carried out: request @${failedBefore} failed before it, and requests are carried out in order`);
      } else if (request.id !== undefined && context.store().delivered(`${session.owner} ${request.id}`)) {
        reply = 'ok duplicate';
      } else {
        reply = answer(context, request, session);
        // Ids are kept per key: one key cannot mark another's requests as done.
        if (request.id !== undefined && reply.startsWith('ok')) context.store().markDelivered(`${session.owner} ${request.id}`, Date.now());
        context.log.child({ component: 'serve' }).info({ peer: session.peer, key: session.key, request: line, reply }, 'request');
      }
    } catch (error) {
      reply = errorAnswer(error);
    }
    if (id !== undefined && failedBefore === undefined && reply.startsWith('error failed:')) failedBefore = id;
    write(`${prefix}${reply}`);
  });
  await new Promise<void>((resolve) => {
    process.stdin.on('data', (chunk: Buffer) => splitter.push(chunk));
    process.stdin.on('end', () => resolve());
    process.stdin.on('error', () => resolve());
  });
  context.closeStore();
  return ExitCode.ok;
}
