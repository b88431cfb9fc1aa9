import { isLiveInTiers } from '../core/bans.js';
import { ExitCode, inputError, XtbanError } from '../core/errors.js';
import { validateJailName } from '../core/names.js';
import { flushWrites } from '../core/list-commands.js';
import { LineSplitter, parseRequest, requestIdOf, SERVE_PROTOCOL, type Request } from '../core/serve-protocol.js';
import type { Address } from '../core/address.js';
import { admitAddress, banInProcess, performWrites, unbanInProcess } from './ban-service.js';
import { kernelContext, type GlobalOptions, type KernelContext } from './context.js';
import { withFreshSafelist } from '../adapters/fresh-safelist.js';

// Carries out one request and returns its answer (without the id).
function answer(context: KernelContext, request: Request, peer: string, permitted: ReadonlySet<string>): string {
  if (request.verb === 'ping') return `ok ${SERVE_PROTOCOL} jails ${[...permitted].join(',')}`;
  const jail = context.config.jails.find((candidate) => candidate.name === request.jail);
  if (!jail) return `error jail ${request.jail} is not configured here`;
  // Only a ban is checked against the safelist: lifting or asking about an address is always allowed.
  const withoutSafelist: KernelContext = { ...context, safelist: { entries: [] } };
  if (request.verb === 'flush') {
    const ended = context.store().flush(jail.name, 'remote', Date.now());
    const failed = performWrites(context.lists, flushWrites(jail.name, context.layouts.get(jail.name))).filter((outcome) => !outcome.ok);
    return failed.length === 0 ? `ok flushed ${ended}` : `error ${failed[0]?.error ?? 'flush failed'}`;
  }
  if (request.verb === 'query') {
    const admitted = admitAddress(withoutSafelist, jail, request.address, 'lift');
    if ('refused' in admitted) return `error ${admitted.refused}`;
    const record = context.store().get(jail.name, admitted.address.text);
    if (!record) return 'ok not-banned';
    const state = record.endedAt !== null ? 'ended' : record.permanent ? 'permanent' : isLiveInTiers(record, jail.tierWindows, Date.now()) ? 'live' : 'expired';
    return `ok ${state} offences ${record.offences} tier ${record.tier + 1}`;
  }
  const admitted: Address[] = [];
  for (const address of request.addresses) {
    const result = request.verb === 'ban' ? admitAddress(context, jail, address) : admitAddress(withoutSafelist, jail, address, 'lift');
    if ('refused' in result) return `error ${result.refused}; nothing written`;
    admitted.push(result.address);
  }
  if (request.verb === 'ban') {
    const { outcomes } = banInProcess(context, jail, admitted, { source: 'remote', reason: `remote ${peer}`, permanent: false });
    const failed = outcomes.find((outcome) => !outcome.ok);
    return failed ? `error recorded, but the kernel refused: ${failed.error}` : `ok banned ${admitted.length}`;
  }
  // The count is of bans that were live and are now ended: an address that was not banned is 0.
  const { ended, outcomes } = unbanInProcess(context, jail, admitted, 'remote');
  const failed = outcomes.find((outcome) => !outcome.ok);
  return failed ? `error ${failed.error}` : `ok unbanned ${ended.length}`;
}

// `xtban serve --jails J,...`: the forced command of a dedicated ssh key on a central firewall. Reads
// requests on stdin, answers each on stdout; runs no shell; refuses jails not named on its command line.
export async function serveCommand(options: GlobalOptions & { jails?: string }): Promise<number> {
  if (options.jails === undefined) throw inputError('--jails is required: the jails this key may ban in', 'for example: xtban serve --jails ssh,web');
  const names = options.jails.split(',');
  for (const name of names) validateJailName(name, '--jails');
  // A session can last: every ban request is checked against the safelist as it is then.
  const loaded = await kernelContext(options);
  const context = withFreshSafelist(loaded, (problem) => loaded.log.error(problem));
  for (const name of names) {
    if (!context.config.jails.some((jail) => jail.name === name)) throw inputError(`--jails: no jail named ${JSON.stringify(name)} in ${context.config.source}`);
  }
  const permitted: ReadonlySet<string> = new Set(names);
  const peer = (process.env['SSH_CLIENT'] ?? 'local').split(' ')[0] ?? 'local';
  const write = (line: string) => process.stdout.write(`${line}\n`);
  const splitter = new LineSplitter((line) => {
    if (typeof line !== 'string') {
      write('overlong' in line ? 'error line too long: refused' : 'error binary data: refused');
      return;
    }
    if (line === '') return;
    const id = requestIdOf(line);
    const prefix = id === undefined ? '' : `@${id} `;
    try {
      const request = parseRequest(line, permitted);
      if (request.id !== undefined && context.store().delivered(request.id)) {
        write(`${prefix}ok duplicate`);
        return;
      }
      const reply = answer(context, request, peer, permitted);
      if (request.id !== undefined && reply.startsWith('ok')) context.store().markDelivered(request.id, Date.now());
      context.log.info({ component: 'serve', peer, request: line, reply }, 'request');
      write(`${prefix}${reply}`);
    } catch (error) {
      write(`${prefix}error ${error instanceof XtbanError ? error.message : error instanceof Error ? error.message : String(error)}`);
    }
  });
  await new Promise<void>((resolve) => {
    process.stdin.on('data', (chunk: Buffer) => splitter.push(chunk));
    process.stdin.on('end', () => resolve());
    process.stdin.on('error', () => resolve());
  });
  context.closeStore();
  return ExitCode.ok;
}
