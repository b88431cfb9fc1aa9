import { maskAddress, parseAddress, unbannableReason, type Address } from '../core/address.js';
import { ExitCode, XtbanError, inputError } from '../core/errors.js';
import { selectJails } from '../core/jail-selection.js';
import { flushWrites, routeAddresses, type ListWrite } from '../core/list-commands.js';
import { describeMatch, safelistMatch } from '../core/safelist.js';
import type { RecentLists } from '../adapters/recent-lists.js';
import { kernelContext } from './context.js';
import { missingSlots } from '../app/missing-lists.js';
import { banInJails, flushJails, unbanInProcess, type WriteOutcome } from '../app/ban-pipeline.js';
import { deliverIfNoDaemon, type DeliveryReport } from '../app/remote.js';
import { fleetOutboxNote } from '../app/fleet-outbox.js';
import type { Ports } from '../app/ports.js';
import type { BanOptions, FlushOptions, UnbanOptions } from './commands.js';

// Validates every argument before anything is written: one bad address and nothing happens.
export function parseAddressArguments(values: readonly string[], purpose: 'ban' | 'unban' = 'ban'): Address[] {
  if (values.length === 0) throw inputError('no address given', 'for example: xtban ban 192.0.2.7');
  const seen = new Map<string, Address>();
  values.forEach((value, index) => {
    const address = parseAddress(value, `address ${index + 1}`);
    const unbannable = purpose === 'ban' ? unbannableReason(address) : undefined;
    if (unbannable !== undefined) throw inputError(`address ${index + 1}: ${unbannable}; nothing was banned`);
    seen.set(address.text, address);
  });
  return [...seen.values()];
}

// The lists among these that the kernel does not have (no rule names them).
async function missingLists(lists: RecentLists, names: readonly (ListWrite | string)[]): Promise<string[]> {
  return (
    await missingSlots(
      lists,
      names.map((name) => ({ name: typeof name === 'string' ? name : name.list })),
    )
  ).map((slot) => slot.name);
}

// All written: 0; some not (a kernel refusal, or a ban no list had room for): 1; none: 3.
function exitFor(outcomes: readonly WriteOutcome[], unplaced = 0): number {
  const failed = outcomes.filter((outcome) => !outcome.ok).length + unplaced;
  return failed === 0 ? ExitCode.ok : failed === outcomes.length + unplaced ? ExitCode.system : ExitCode.partial;
}

const SOURCE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

// `xtban ban ADDR...`: checks the safelist, records every ban in the store (committed), then writes
// +ADDR into the list of the ban's tier and shard. A crash after the record leaves a ban restore brings back.
export async function banAddresses(addressArgs: string[], options: BanOptions): Promise<number> {
  const source = options.source ?? 'cli';
  if (!SOURCE_PATTERN.test(source))
    throw inputError(`--source: ${JSON.stringify(source)} is not a source name`, 'lower-case letters, digits, "-" and "_", for example cli, fail2ban, remote');
  if (options.reason !== undefined && (options.reason.length > 200 || /[\x00-\x1f\x7f]/.test(options.reason))) {
    throw inputError('--reason: at most 200 printable characters');
  }
  const context = await kernelContext(options);
  const { out, config, log, layouts, lists, safelist } = context;
  const listsLog = log.child({ component: 'lists' });
  const jails = selectJails(config, options.jail);
  const addresses = parseAddressArguments(addressArgs);
  const { routed, skipped } = routeAddresses(jails, addresses);
  const refused = routed.flatMap((target) => {
    const entry = safelistMatch(safelist, { family: target.address.family, address: target.address.text, prefix: target.prefix });
    return entry
      ? [
          {
            jail: target.jail,
            address: target.given,
            reason: describeMatch({ family: target.address.family, address: target.address.text, prefix: target.prefix }, entry),
          },
        ]
      : [];
  });
  if (refused.length > 0) {
    out.result({ action: 'ban', refused, results: [] });
    for (const refusal of refused) out.note(`refused: ${refusal.reason} (jail ${refusal.jail}); nothing was banned`);
    return ExitCode.safelisted;
  }
  try {
    // remote_only jails ban on their central firewalls only, not in this host's lists.
    const local = new Set(jails.filter((jail) => !jail.remoteOnly).map((jail) => jail.name));
    // Every list a ban could go to must exist before anything is recorded: nothing is written otherwise.
    // Once per jail and family: a batch of thousands of bans asks about the same lists.
    const pairs = new Map(routed.filter((target) => local.has(target.jail)).map((target) => [`${target.jail} ${target.address.family}`, target]));
    const needed = [...pairs.values()].flatMap((target) =>
      (layouts.get(target.jail)?.slots ?? []).filter((slot) => slot.role === 'ban' && slot.family === target.address.family).map((slot) => slot.name),
    );
    const missing = await missingLists(lists, needed);
    if (missing.length > 0) {
      throw new XtbanError(`list${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found in ${lists.directory}; nothing was banned`, {
        exitCode: ExitCode.system,
        hint: 'run `xtban apply` first: a list exists only while a rule names it',
      });
    }
    // The bans and their requests for central firewalls are committed together: neither is lost without the other.
    const { decisions, outcomes, placements } = banInJails(context, jails, routed, {
      source,
      reason: options.reason ?? null,
      permanent: options.permanent === true,
    });
    for (const outcome of outcomes) {
      const fields = {
        action: outcome.command.startsWith('+') ? 'ban' : 'unban-old-tier',
        jail: outcome.jail,
        list: outcome.list,
        address: outcome.address,
        source,
      };
      if (outcome.ok) listsLog.info(fields, 'ban written');
      else listsLog.error({ ...fields, error: outcome.error }, 'ban failed');
    }
    // The +ADDR write of each ban, by jail and address (a repeat offence also has a -ADDR for its old tier).
    const written = new Map(outcomes.filter((outcome) => outcome.command.startsWith('+')).map((outcome) => [`${outcome.jail} ${outcome.address}`, outcome]));
    out.result({
      action: 'ban',
      results: decisions.map((decision) => {
        const write = written.get(`${decision.record.jail} ${decision.record.address}`);
        const placement = placements.get(`${decision.record.jail} ${decision.record.address}`);
        const where =
          placement?.kind === 'placed'
            ? {
                preferredList: placement.preferred,
                ...(placement.evicts === undefined ? {} : placement.displaces ? { displaced: placement.evicts } : { evicted: placement.evicts }),
              }
            : placement?.kind === 'full'
              ? { unplaced: placement.lists }
              : {};
        return {
          ...decision.record,
          kind: decision.kind,
          list: write?.list ?? null,
          ok: write?.ok ?? false,
          ...where,
          ...(write?.error ? { error: write.error } : {}),
        };
      }),
      skipped,
    });
    const deliveries = await deliverIfNoDaemon(
      context,
      jails.flatMap((jail) => jail.remotes),
    );
    for (const decision of decisions) {
      const { record } = decision;
      const write = written.get(`${record.jail} ${record.address}`);
      if (!local.has(record.jail)) {
        out.line(`banned ${record.address} in ${record.jail} (on its central firewalls only)`);
        continue;
      }
      const placement = placements.get(`${record.jail} ${record.address}`);
      if (placement?.kind === 'full') {
        out.note(
          `not placed: ${record.address} in ${record.jail}: ${placement.lists.length > 1 ? 'its shard and the spill list' : 'its list'} (${placement.lists.join(', ')}) ${placement.lists.length > 1 ? 'are' : 'is'} full of live bans, and writing would evict one; recorded, enforced once there is room (\`xtban reap\`, \`xtban restore\`); raise capacity (more shards) or ip_list_tot`,
        );
        continue;
      }
      if (!write?.ok) {
        out.note(`error: ban ${record.address} in ${record.jail}: ${write?.error ?? 'no list for this tier'} (recorded; \`xtban restore\` retries)`);
        continue;
      }
      const tier = config.jails.find((jail) => jail.name === record.jail)?.tierWindows.length ?? 1;
      const moved = placement?.kind === 'placed' && placement.moved ? `its own shard ${placement.preferred} is full` : '';
      const evicted =
        placement?.kind === 'placed' && placement.evicts !== undefined
          ? placement.displaces
            ? `in place of ${placement.evicts}, a ban that ends (kept in the store, put back when there is room)`
            : `the full list gave up ${placement.evicts}, not a live ban`
          : '';
      const extras = [
        record.permanent ? 'permanent' : '',
        tier > 1 ? `tier ${record.tier + 1} of ${tier}` : '',
        record.offences > 1 ? `offence ${record.offences}` : '',
        decision.kind === 'refresh' ? 'refreshed' : '',
        moved,
        evicted,
      ]
        .filter((part) => part !== '')
        .join(', ');
      out.line(`banned ${record.address} in ${record.jail} (list ${write.list}${extras ? `; ${extras}` : ''})`);
    }
    for (const skip of skipped) out.note(`skipped ${skip.address} for ${skip.jail}: ${skip.reason}`);
    reportDeliveries(out, deliveries);
    noteFleet(context, out);
    const unplaced = [...placements.values()].filter((placement) => placement.kind === 'full').length;
    return exitFor(outcomes, unplaced);
  } finally {
    context.closeStore();
  }
}

// Decisions for the fleet that only wait, because no daemon runs to publish them, are said.
function noteFleet(context: Ports, out: { note(text: string): void }): void {
  const note = fleetOutboxNote(context);
  if (note !== undefined) out.note(`note: ${note}`);
}

// One line per central firewall: sent, or queued with the reason and what to fix.
function reportDeliveries(out: { line(text: string): void; note(text: string): void }, reports: readonly DeliveryReport[]): void {
  for (const report of reports) {
    if (report.failure === undefined)
      out.line(
        `sent to ${report.target}: ${report.delivered} request(s)${report.refused.length > 0 ? `, ${report.refused.length} refused there for good and set aside (\`xtban remote check\` lists them)` : ''}`,
      );
    else out.note(`queued for ${report.target} (${report.left} waiting): ${report.failure}${report.hint ? `\n  hint: ${report.hint}` : ''}`);
    for (const refusal of report.refused) out.note(`  ${report.target} refused ${JSON.stringify(refusal.request)}: ${refusal.answer}`);
  }
}

// `xtban unban ADDR...`: ends the bans in the store, then writes -ADDR into every list that could hold them.
export async function unbanAddresses(addressArgs: string[], options: UnbanOptions): Promise<number> {
  const context = await kernelContext(options);
  const { out, config, log } = context;
  const listsLog = log.child({ component: 'lists' });
  const jails = selectJails(config, options.jail);
  const addresses = parseAddressArguments(addressArgs, 'unban');
  const { routed, skipped } = routeAddresses(jails, addresses);
  try {
    const ended = new Set<string>();
    const outcomes: WriteOutcome[] = [];
    const missing = new Set<string>();
    const listed = new Set<string>();
    for (const jail of jails) {
      const targets = routed.filter((target) => target.jail === jail.name).map((target) => target.address);
      if (targets.length === 0) continue;
      const report = unbanInProcess(context, jail, targets, 'cli');
      for (const record of report.ended) {
        ended.add(`${record.jail} ${record.address}`);
        // A ban made under a longer mask counts for the network it falls in.
        ended.add(`${record.jail} ${maskAddress({ family: record.family, text: record.address }, jail.mask[record.family]).text}`);
      }
      outcomes.push(...report.outcomes);
      for (const list of report.missingLists) missing.add(list);
      for (const address of report.listedBefore) listed.add(`${jail.name} ${address}`);
    }
    for (const outcome of outcomes) {
      if (outcome.ok) listsLog.info({ action: 'unban', jail: outcome.jail, list: outcome.list, address: outcome.address }, 'unban written');
      else listsLog.error({ action: 'unban', jail: outcome.jail, list: outcome.list, address: outcome.address, error: outcome.error }, 'unban failed');
    }
    const byTarget = new Map<string, typeof outcomes>();
    for (const outcome of outcomes) {
      const key = `${outcome.jail} ${outcome.address}`;
      byTarget.set(key, [...(byTarget.get(key) ?? []), outcome]);
    }
    const results = routed.map((target) => {
      const mine = byTarget.get(`${target.jail} ${target.address.text}`) ?? [];
      const inKernel = listed.has(`${target.jail} ${target.address.text}`);
      const errors = mine.filter((outcome) => !outcome.ok).map((outcome) => outcome.error);
      return {
        jail: target.jail,
        address: target.address.text,
        wasListed: inKernel,
        endedInStore: ended.has(`${target.jail} ${target.address.text}`),
        ok: errors.length === 0,
        ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
      };
    });
    out.result({ action: 'unban', results, skipped, missingLists: [...missing] });
    for (const result of results) {
      if (!result.ok) out.note(`error: unban ${result.address} in ${result.jail}: ${result.error}`);
      else out.line(`${result.wasListed || result.endedInStore ? 'unbanned' : 'not listed'} ${result.address} in ${result.jail}`);
    }
    for (const list of missing) out.note(`note: list ${list} does not exist (nothing to remove there)`);
    for (const skip of skipped) out.note(`skipped ${skip.address} for ${skip.jail}: ${skip.reason}`);
    reportDeliveries(
      out,
      await deliverIfNoDaemon(
        context,
        jails.flatMap((jail) => jail.remotes),
      ),
    );
    noteFleet(context, out);
    return exitFor(outcomes);
  } finally {
    context.closeStore();
  }
}

// `xtban flush`: ends every ban of the selected jails in the store and empties their lists ("/").
export async function flushCommand(options: FlushOptions): Promise<number> {
  const context = await kernelContext(options);
  const { out, config, layouts, lists } = context;
  const jails = selectJails(config, options.jail);
  try {
    const writes: ListWrite[] = jails.flatMap((jail) => flushWrites(jail.name, layouts.get(jail.name)));
    // A list that is missing stops the flush before anything is ended: the store and the kernel stay as one.
    const missing = await missingLists(lists, writes);
    if (missing.length > 0) {
      throw new XtbanError(`list${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found in ${lists.directory}; nothing was flushed`, {
        exitCode: ExitCode.system,
        hint: 'run `xtban apply` first (a list exists only while a rule names it), or `xtban unban` the addresses',
      });
    }
    const { ended, outcomes } = flushJails(context, jails, 'cli');
    out.result({
      action: 'flush',
      jails: jails.map((jail) => ({ jail: jail.name, endedInStore: ended.get(jail.name) ?? 0 })),
      results: outcomes.map(({ jail, list, ok, error }) => ({ jail, list, ok, ...(error ? { error } : {}) })),
    });
    for (const jail of jails) out.line(`ended ${ended.get(jail.name) ?? 0} ban(s) of ${jail.name} in the store`);
    for (const outcome of outcomes) {
      if (outcome.ok) out.line(`flushed list ${outcome.list} (${outcome.jail})`);
      else out.note(`error: flush ${outcome.list}: ${outcome.error}`);
    }
    reportDeliveries(
      out,
      await deliverIfNoDaemon(
        context,
        jails.flatMap((jail) => jail.remotes),
      ),
    );
    return exitFor(outcomes);
  } finally {
    context.closeStore();
  }
}
