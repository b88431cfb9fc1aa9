import { kernelPrintedForm, parseAddress, type Address } from '../core/address.js';
import { ExitCode, XtbanError, inputError } from '../core/errors.js';
import { selectJails } from '../core/jail-selection.js';
import { planListWrites, type ListWrite } from '../core/list-commands.js';
import { procLists, type RecentLists } from '../adapters/recent-lists.js';
import { commandContext, type GlobalOptions } from './context.js';

// Validates every argument before anything is written: one bad address and nothing happens.
export function parseAddressArguments(values: readonly string[]): Address[] {
  if (values.length === 0) throw inputError('no address given', 'for example: xtban ban 192.0.2.7');
  const seen = new Map<string, Address>();
  values.forEach((value, index) => {
    const address = parseAddress(value, `address ${index + 1}`);
    seen.set(address.text, address);
  });
  return [...seen.values()];
}

// Fails before the first write when a target list is missing, with the fix.
async function requireLists(lists: RecentLists, writes: readonly ListWrite[]): Promise<void> {
  const present = new Set(await lists.names());
  const missing = [...new Set(writes.map((write) => write.list))].filter((list) => !present.has(list));
  if (missing.length > 0) {
    throw new XtbanError(`list${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found in ${lists.directory}`, {
      exitCode: ExitCode.system,
      hint: 'run `xtban apply` first: a list exists only while a rule names it',
    });
  }
}

interface WriteOutcome extends ListWrite {
  ok: boolean;
  error?: string;
}

function performWrites(lists: RecentLists, writes: readonly ListWrite[]): WriteOutcome[] {
  return writes.map((write) => {
    try {
      lists.write(write.list, write.command);
      return { ...write, ok: true };
    } catch (error) {
      return { ...write, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  });
}

// `xtban ban` and `xtban unban`: +ADDR or -ADDR into the list of every selected jail that takes the family.
export async function banCommand(verb: 'ban' | 'unban', addressArgs: string[], options: GlobalOptions & { jail?: string }): Promise<number> {
  const { out, config, log } = await commandContext(options);
  const jails = selectJails(config, options.jail);
  const addresses = parseAddressArguments(addressArgs);
  const plan = planListWrites(jails, addresses, verb === 'ban' ? '+' : '-');
  const lists = procLists();
  await requireLists(lists, plan.writes);
  // unban reports whether the address was listed: read each list once before writing.
  const listed = new Map<string, string>();
  if (verb === 'unban') for (const list of new Set(plan.writes.map((write) => write.list))) listed.set(list, (await lists.read(list)) ?? '');
  const outcomes = performWrites(lists, plan.writes).map((outcome) => ({
    ...outcome,
    ...(verb === 'unban' ? { wasListed: isListed(listed.get(outcome.list) ?? '', outcome.address) } : {}),
  }));
  for (const outcome of outcomes) {
    const fields = { component: 'lists', action: verb, jail: outcome.jail, list: outcome.list, address: outcome.address };
    if (outcome.ok) log.info(fields, `${verb} written`);
    else log.error({ ...fields, error: outcome.error }, `${verb} failed`);
  }
  const failed = outcomes.filter((outcome) => !outcome.ok);
  out.result({ action: verb, results: outcomes, skipped: plan.skipped });
  for (const outcome of outcomes) {
    if (!outcome.ok) out.note(`error: ${verb} ${outcome.address} in ${outcome.jail}: ${outcome.error}`);
    else if (verb === 'ban') out.line(`banned ${outcome.address} in ${outcome.jail} (list ${outcome.list})`);
    else out.line(`${'wasListed' in outcome && outcome.wasListed === false ? 'not listed' : 'unbanned'} ${outcome.address} in ${outcome.jail} (list ${outcome.list})`);
  }
  for (const skip of plan.skipped) out.note(`skipped ${skip.address} for ${skip.jail}: ${skip.reason}`);
  if (failed.length === 0) return ExitCode.ok;
  return failed.length === outcomes.length ? ExitCode.system : ExitCode.partial;
}

// True when the list text holds the address (the kernel prints IPv6 fully expanded).
function isListed(listText: string, address: string): boolean {
  return listText.includes(`src=${kernelPrintedForm(address)} `);
}

// `xtban ban ADDR...`
export const banAddresses = (addresses: string[], options: GlobalOptions & { jail?: string }): Promise<number> => banCommand('ban', addresses, options);
// `xtban unban ADDR...`
export const unbanAddresses = (addresses: string[], options: GlobalOptions & { jail?: string }): Promise<number> => banCommand('unban', addresses, options);

// `xtban flush`: empties the selected jails' lists ("/").
export async function flushCommand(options: GlobalOptions & { jail?: string }): Promise<number> {
  const { out, config } = await commandContext(options);
  const jails = selectJails(config, options.jail);
  const writes: ListWrite[] = jails.flatMap((jail) => jail.lists.map((list) => ({ jail: jail.name, list: list.name, address: '', command: '/' })));
  const lists = procLists();
  await requireLists(lists, writes);
  const outcomes = performWrites(lists, writes);
  out.result({ action: 'flush', results: outcomes.map(({ jail, list, ok, error }) => ({ jail, list, ok, ...(error ? { error } : {}) })) });
  for (const outcome of outcomes) {
    if (outcome.ok) out.line(`flushed list ${outcome.list} (${outcome.jail})`);
    else out.note(`error: flush ${outcome.list}: ${outcome.error}`);
  }
  const failed = outcomes.filter((outcome) => !outcome.ok).length;
  return failed === 0 ? ExitCode.ok : failed === outcomes.length ? ExitCode.system : ExitCode.partial;
}
