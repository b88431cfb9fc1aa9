import { maskAddress, unbannableReason, type Address } from '../core/address.js';
import type { BanDecision } from '../core/bans.js';
import type { JailConfig } from '../config/schema.js';
import { tierWindowsOf } from '../core/jail-selection.js';
import { banWrites, unbanWrites } from '../core/list-commands.js';
import { entriesToLift } from '../core/serve-rights.js';
import type { BanRecord } from '../core/bans.js';
import { describeMatch, safelistMatch } from '../core/safelist.js';
import type { RecentLists } from '../adapters/recent-lists.js';
import type { ListWrite } from '../core/list-commands.js';
import type { KernelContext } from './context.js';
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
}

// An address as a jail bans it (masked to the jail's prefix), or why it may not be banned there.
export function admitAddress(context: KernelContext, jail: JailConfig, address: Address, purpose: 'ban' | 'lift' = 'ban'): { address: Address } | { refused: string } {
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

// Records the bans (one transaction) and writes them to the kernel; failures stay in the store for restore.
export function banInProcess(context: KernelContext, jail: JailConfig, addresses: readonly Address[], origin: BanOrigin) {
  const requests = addresses.map((address) => ({ jail: jail.name, address: address.text, family: address.family, ...origin }));
  const decisions: BanDecision[] = context.store().ban(
    requests,
    tierWindowsOf(context.config),
    Date.now(),
    (made) => remoteBanRequests([jail], made),
  );
  // remote_only: the bans go to the central firewalls, not into this host's lists.
  const outcomes = jail.remoteOnly ? [] : performWrites(context.lists, banWrites(decisions, context.layouts));
  return { decisions, outcomes };
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

// Ends the bans in the store and removes the addresses from every list of the jail that could hold them.
export function unbanInProcess(context: KernelContext, jail: JailConfig, addresses: readonly Address[], source: string) {
  const ended = context.store().unban(jail.name, coveredAddresses(jail, addresses, () => context.store().open(jail.name)), source, Date.now());
  enqueueRemote(context, jail, 'unban', addresses.map((address) => address.text));
  const targets = addresses.map((address) => ({ jail: jail.name, address, prefix: jail.mask[address.family], given: address.text }));
  const outcomes = jail.remoteOnly ? [] : performWrites(context.lists, unbanWrites(targets, context.layouts));
  return { ended, outcomes };
}

// Ends only the bans `may` allows among these addresses' (or the whole jail's), and lifts from the
// kernel only the entries of bans it ended that no kept ban shares: serve's unban and flush for a key
// that may end only its own bans. Kept bans keep their record and their kernel entry.
export function endAllowedInProcess(
  context: KernelContext,
  jail: JailConfig,
  addresses: readonly Address[] | 'all',
  may: (record: BanRecord) => boolean,
  how: 'unban' | 'flush',
  source: string,
) {
  const covered = addresses === 'all' ? 'all' : coveredAddresses(jail, addresses, () => context.store().open(jail.name));
  const { ended, kept } = context.store().endWhere(jail.name, covered, may, how, source, Date.now());
  const lift = entriesToLift(ended, kept, jail.mask);
  enqueueRemote(context, jail, 'unban', lift.map((address) => address.text));
  const targets = lift.map((address) => ({ jail: jail.name, address, prefix: jail.mask[address.family], given: address.text }));
  const outcomes = jail.remoteOnly ? [] : performWrites(context.lists, unbanWrites(targets, context.layouts));
  return { ended, kept, outcomes };
}
