import { maskAddress, unbannableReason, type Address } from '../core/address.js';
import { isLiveInTiers, type BanDecision, type BanRecord } from '../core/bans.js';
import type { JailConfig } from '../core/domain.js';
import { tierWindowsOf } from '../core/jail-selection.js';
import { banWrites, flushWrites, unbanWrites, type Placements } from '../core/list-commands.js';
import { entryInForce, PlacementPlanner, type ListFill } from '../core/placement.js';
import type { KernelClock } from '../core/jiffies.js';
import type { ListSlot } from '../core/layout.js';
import { parseRecentList } from '../core/proc-format.js';
import { defaultWordBits } from '../adapters/kernel-clock.js';
import type { BanEvent } from '../adapters/ban-store.js';
import { isFleetSource } from '../core/fleet.js';
import { enqueueFleetUnbans, fleetBanItems } from './fleet-outbox.js';
import { entriesToLift } from '../core/serve-rights.js';
import { describeMatch, safelistMatch } from '../core/safelist.js';
import type { RecentLists } from '../adapters/recent-lists.js';
import type { ListWrite } from '../core/list-commands.js';
import type { Ports } from './ports.js';
import { enqueueRemote, remoteBanRequests } from './remote.js';

export interface WriteOutcome extends ListWrite {
  ok: boolean;
  error?: string;
}

// Writes one command per list entry; a failure is reported and the rest go on.
export function performWrites(lists: RecentLists, writes: readonly ListWrite[]): WriteOutcome[] {
  const errors = lists.writeMany(writes);
  return writes.map((write, index) => {
    const error = errors[index];
    return error === undefined ? { ...write, ok: true } : { ...write, ok: false, error: error.message };
  });
}

// What a ban made inside a long-running process (daemon sources, serve) says about itself.
export interface BanOrigin {
  source: string;
  reason: string | null;
  permanent: boolean;
  // A ban received from the fleet starts at its origin's tier (or this jail's last).
  minTier?: number;
}

// An address as a jail bans it (masked to the jail's prefix), or why it may not be banned there.
export function admitAddress(context: Ports, jail: JailConfig, address: Address, purpose: 'ban' | 'lift' = 'ban'): { address: Address } | { refused: string } {
  if (!jail.families.includes(address.family)) return { refused: `jail ${jail.name} does not take IPv${address.family}` };
  // Lifting or asking about an address is always allowed (a ban of 0.0.0.0 from before can be lifted).
  const unbannable = purpose === 'ban' ? unbannableReason(address) : undefined;
  if (unbannable !== undefined) return { refused: unbannable };
  const prefix = jail.mask[address.family];
  const masked = maskAddress(address, prefix);
  const network = { family: masked.family, address: masked.text, prefix };
  const safe = safelistMatch(context.safelist, network);
  return safe ? { refused: describeMatch(network, safe) } : { address: masked };
}

// A jail's ban lists as they are now (address to the jiffies it was last seen), or undefined for a
// missing list: read just before writing, so that a ban never evicts a live one unseen.
export function readBanFill(context: Ports, jail: string): ListFill {
  const fill = new Map<string, Map<string, number> | undefined>();
  for (const slot of context.layouts.get(jail)?.slots ?? []) {
    if (slot.role !== 'ban') continue;
    const text = context.lists.readNow(slot.name);
    fill.set(
      slot.name,
      text === undefined
        ? undefined
        : new Map(parseRecentList(text, `${context.lists.directory}/${slot.name}`).map((entry) => [entry.address, entry.lastSeen])),
    );
  }
  return fill;
}

// One planner per jail for one batch of bans: the lists as read now; the store's live bans are the
// entries a full list may not give up.
export function plannersFor(context: Ports, nowMs: number): (jail: string) => PlacementPlanner {
  const planners = new Map<string, PlacementPlanner>();
  return (name) => {
    let planner = planners.get(name);
    const layout = context.layouts.get(name);
    const jail = context.config.jails.find((candidate) => candidate.name === name);
    if (!layout || !jail) throw new Error(`no list layout for jail ${name}`);
    if (!planner) {
      // Read once, and only when a full list needs it.
      let clock: KernelClock | undefined | null = null;
      const isLiveBan = (address: string, lastSeen: number, slot: ListSlot) => {
        const record = context.store().get(name, address);
        if (record !== undefined && record.endedAt === null && isLiveInTiers(record, jail.tierWindows, nowMs)) return true;
        clock = clock === null ? context.kernelClock() : clock;
        return entryInForce(clock, lastSeen, slot.windowSeconds);
      };
      const isDisplaceable = (address: string) => {
        const record = context.store().get(name, address);
        return record !== undefined && record.endedAt === null && !record.permanent;
      };
      planner = new PlacementPlanner({
        layout,
        capacity: context.parameters.ipListTot,
        fill: readBanFill(context, name),
        wordBits: defaultWordBits(),
        isLiveBan,
        isDisplaceable,
      });
      planners.set(name, planner);
    }
    return planner;
  };
}

// The event of an entry a full list gave up for a ban (never a live one): a ban's write and restore alike.
export function evictedEvent(jail: string, victim: string, list: string, by: string, source: string, nowMs: number): BanEvent {
  return { time: nowMs, jail, address: victim, action: 'evicted', source, detail: `${list} was full: made room for ${by} (not a live ban)` };
}

// The event of a ban that ends, whose place a permanent ban took: it stays in the store and goes back
// when there is room.
export function displacedEvent(jail: string, victim: string, list: string, by: string, source: string, nowMs: number): BanEvent {
  return {
    time: nowMs,
    jail,
    address: victim,
    action: 'unplaced',
    source,
    detail: `${list} was full: displaced by the permanent ban ${by}; put back when there is room`,
  };
}

// The event of a ban placed in another shard than its own, which is full.
export function movedEvent(jail: string, address: string, list: string, preferred: string, source: string, nowMs: number): BanEvent {
  return { time: nowMs, jail, address, action: 'moved', source, detail: `into ${list}: its own shard ${preferred} is full` };
}

// What writing a batch of bans did: each write's outcome, where each ban went, and the events that
// say so (an entry that made room, a ban no list had room for).
export interface BanWriteReport {
  outcomes: WriteOutcome[];
  placements: Placements;
}

// Places and writes the bans of these decisions (jails that ban locally only), and records in the
// store every entry a full list gave up and every ban that found no room: nothing is evicted unseen.
export function writeBans(context: Ports, decisions: readonly BanDecision[], source: string, nowMs: number): BanWriteReport {
  if (decisions.length === 0) return { outcomes: [], placements: new Map() };
  // A ban received from the fleet takes free room only and leaves every list's last tenth to this host's
  // own bans: only this host's own rules may put one ban out for another.
  const { writes, placements } = banWrites(decisions, context.layouts, plannersFor(context, nowMs), { from: isFleetSource(source) ? 'fleet' : 'local' });
  const outcomes = performWrites(context.lists, writes);
  const events: BanEvent[] = [];
  for (const [key, placement] of placements) {
    const [jail = '', address = ''] = key.split(' ');
    if (placement.kind === 'placed' && placement.evicts !== undefined)
      events.push((placement.displaces ? displacedEvent : evictedEvent)(jail, placement.evicts, placement.list, address, source, nowMs));
    if (placement.kind === 'placed' && placement.moved) events.push(movedEvent(jail, address, placement.list, placement.preferred, source, nowMs));
    if (placement.kind === 'full') {
      events.push({
        time: nowMs,
        jail,
        address,
        action: 'unplaced',
        source,
        detail: `the lists its packets meet are full of live bans (${placement.lists.join(', ')})`,
      });
    }
  }
  context.store().note(events);
  return { outcomes, placements };
}

// Records the bans (one transaction) and writes them to the kernel; failures stay in the store for restore.
export function banInProcess(context: Ports, jail: JailConfig, addresses: readonly Address[], origin: BanOrigin) {
  return banInJails(
    context,
    [jail],
    addresses.map((address) => ({ jail: jail.name, address })),
    origin,
  );
}

// The one ban: every path (the CLI, fail2ban's action, serve, the daemon's sources) records its bans
// and their requests for central firewalls in one transaction, then places and writes them. Addresses
// come admitted (masked, checked against the safelist) by the caller.
export function banInJails(
  context: Ports,
  jails: readonly JailConfig[],
  targets: readonly { jail: string; address: Address; origin?: BanOrigin }[],
  origin: BanOrigin,
) {
  // A target's own origin (the fleet's decisions each carry their reason and permanence) wins.
  const requests = targets.map((target) => ({ jail: target.jail, address: target.address.text, family: target.address.family, ...(target.origin ?? origin) }));
  const now = Date.now();
  const fleet = context.config.fleet !== undefined;
  const decisions: BanDecision[] = context
    .store()
    .ban(requests, tierWindowsOf(context.config), now, (made) => [
      ...remoteBanRequests(jails, made),
      ...(fleet ? fleetBanItems(jails, made, origin.source) : []),
    ]);
  // remote_only: the bans go to the central firewalls, not into this host's lists.
  const local = new Set(jails.filter((jail) => !jail.remoteOnly).map((jail) => jail.name));
  const { outcomes, placements } = writeBans(
    context,
    decisions.filter((decision) => local.has(decision.record.jail)),
    origin.source,
    now,
  );
  return { decisions, outcomes, placements };
}

// The store's addresses an unban of these (masked) addresses ends: the addresses themselves and the
// bans made under a longer mask (before the jail's mask changed) that fall in their networks, which
// restore would otherwise put back as those networks.
export function coveredAddresses(jail: JailConfig, addresses: readonly Address[], open: () => readonly { family: 4 | 6; address: string }[]): string[] {
  const texts = new Set(addresses.map((address) => address.text));
  if (jail.mask[4] === 32 && jail.mask[6] === 128) return [...texts];
  const networks = new Set(addresses.map((address) => maskAddress(address, jail.mask[address.family]).text));
  for (const record of open()) {
    if (networks.has(maskAddress({ family: record.family, text: record.address }, jail.mask[record.family]).text)) texts.add(record.address);
  }
  return [...texts];
}

// The CLI, serve and the daemon's list sources all unban through here. A list that does not exist has
// nothing to remove: it is named, not written to. A remote_only jail's lists are written too: an unban
// takes the address out of every list that could hold it. With `may` (serve, for a key that may end
// only its own bans), only the bans it allows end, only their entries leave the kernel (never one a
// kept ban shares), and the kernel's own detection bans stay.
export function unbanInProcess(
  context: Ports,
  jail: JailConfig,
  addresses: readonly Address[],
  source: string,
  options: { may?: (record: BanRecord) => boolean } = {},
): UnbanReport {
  const covered = coveredAddresses(jail, addresses, () => context.store().open(jail.name));
  if (options.may !== undefined) return endAllowed(context, jail, covered, options.may, 'unban', source);
  const ended = context.store().unban(jail.name, covered, source, Date.now());
  enqueueRemote(
    context,
    jail,
    'unban',
    addresses.map((address) => address.text),
  );
  enqueueFleetUnbans(
    context,
    jail,
    addresses.map((address) => address.text),
    source,
  );
  return { ended, kept: [], ...liftEntries(context, jail, addresses, { detect: true }) };
}

// Ends the bans `may` allows among these (or all of the jail's) and lifts the entries of those it
// ended that no kept ban shares.
function endAllowed(
  context: Ports,
  jail: JailConfig,
  covered: readonly string[] | 'all',
  may: (record: BanRecord) => boolean,
  how: 'unban' | 'flush',
  source: string,
): UnbanReport {
  const { ended, kept } = context.store().endWhere(jail.name, covered, may, how, source, Date.now());
  const lift = entriesToLift(ended, kept, jail.mask);
  enqueueRemote(
    context,
    jail,
    'unban',
    lift.map((address) => address.text),
  );
  enqueueFleetUnbans(
    context,
    jail,
    lift.map((address) => address.text),
    source,
  );
  return { ended, kept, ...liftEntries(context, jail, lift, { detect: false }) };
}

// Writes -ADDR for these addresses into every list of the jail that could hold them (the detection
// lists too, when asked), skipping lists that do not exist, and says what each list held before.
function liftEntries(context: Ports, jail: JailConfig, addresses: readonly Address[], options: { detect: boolean }): Omit<UnbanReport, 'ended' | 'kept'> {
  const targets = addresses.map((address) => ({ jail: jail.name, address, prefix: jail.mask[address.family], given: address.text }));
  const writes = unbanWrites(targets, context.layouts, { detect: options.detect });
  const held = new Map<string, Set<string> | undefined>();
  for (const list of new Set(writes.map((write) => write.list))) {
    const text = context.lists.readNow(list);
    held.set(list, text === undefined ? undefined : new Set(parseRecentList(text, `${context.lists.directory}/${list}`).map((entry) => entry.address)));
  }
  const outcomes = performWrites(
    context.lists,
    writes.filter((write) => held.get(write.list) !== undefined),
  );
  const listedBefore = new Set(outcomes.filter((outcome) => held.get(outcome.list)?.has(outcome.address)).map((outcome) => outcome.address));
  return { outcomes, missingLists: [...held].filter(([, entries]) => entries === undefined).map(([list]) => list), listedBefore };
}

// What an unban did: the bans it ended in the store, each write's outcome, the lists that were not
// there, and the addresses some list held before.
export interface UnbanReport {
  ended: BanRecord[];
  // The bans `may` kept (a key's unban or flush of bans it did not make).
  kept: BanRecord[];
  outcomes: WriteOutcome[];
  missingLists: string[];
  listedBefore: ReadonlySet<string>;
}

// Empties the lists of these jails ("/"), the store untouched: what a flush writes to the kernel, and
// the daemon's --flush-on-exit on its own. A remote_only jail's lists are emptied too: nothing of it
// belongs there.
export function emptyJailLists(context: Ports, jails: readonly JailConfig[]): WriteOutcome[] {
  return performWrites(
    context.lists,
    jails.flatMap((jail) => flushWrites(jail.name, context.layouts.get(jail.name))),
  );
}

// Ends every ban of these jails in the store, queues the flush for their central firewalls, and empties
// their lists: `xtban flush` and serve's flush for a key with full rights, through one function.
export function flushJails(context: Ports, jails: readonly JailConfig[], source: string, options: { may?: (record: BanRecord) => boolean } = {}) {
  const may = options.may;
  if (may !== undefined) {
    // Only the bans `may` allows, and only their entries: never the whole list.
    const reports = jails.map((jail) => [jail.name, endAllowed(context, jail, 'all', may, 'flush', source)] as const);
    return {
      ended: new Map(reports.map(([name, report]) => [name, report.ended.length])),
      kept: reports.flatMap(([, report]) => report.kept),
      outcomes: reports.flatMap(([, report]) => report.outcomes),
    };
  }
  const now = Date.now();
  const ended = new Map(jails.map((jail) => [jail.name, context.store().flush(jail.name, source, now)]));
  for (const jail of jails) enqueueRemote(context, jail, 'flush', []);
  return { ended, kept: [] as BanRecord[], outcomes: emptyJailLists(context, jails) };
}
