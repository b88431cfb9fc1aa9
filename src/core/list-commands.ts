import { maskAddress, type Address } from './address.js';
import type { JailConfig } from './domain.js';
import type { BanDecision } from './bans.js';
import { inputError } from './errors.js';
import type { JailLayout } from './layout.js';
import { tierSlots, type Placement, type PlacementPlanner } from './placement.js';

// One proc write: which list, which command, and why.
export interface ListWrite {
  jail: string;
  list: string;
  address: string;
  command: string;
}

// An address as a jail bans it: masked to the jail's prefix for its family.
export interface RoutedAddress {
  jail: string;
  address: Address;
  prefix: number;
  // What the user typed, canonicalised (differs from address when a mask applies).
  given: string;
}

export interface Routing {
  routed: RoutedAddress[];
  // Jail and address pairs left out because the jail does not take that family.
  skipped: { jail: string; address: string; reason: string }[];
}

// Routes each address to the jails that take its family, masked per jail: an IPv4 address never goes
// into an IPv6-only jail. An address that no selected jail can take is an input error.
export function routeAddresses(jails: readonly JailConfig[], addresses: readonly Address[]): Routing {
  const routed: RoutedAddress[] = [];
  const skipped: Routing['skipped'] = [];
  for (const address of addresses) {
    if (!jails.some((jail) => jail.families.includes(address.family))) {
      const names = jails.map((jail) => jail.name).join(', ');
      throw inputError(
        `${address.text} is IPv${address.family}, but jail${jails.length > 1 ? 's' : ''} ${names} take${jails.length > 1 ? '' : 's'} IPv${address.family === 4 ? 6 : 4} only`,
      );
    }
    for (const jail of jails) {
      if (!jail.families.includes(address.family)) {
        skipped.push({ jail: jail.name, address: address.text, reason: `jail ${jail.name} is IPv${jail.families[0]}-only` });
        continue;
      }
      const prefix = jail.mask[address.family];
      routed.push({ jail: jail.name, address: maskAddress(address, prefix), prefix, given: address.text });
    }
  }
  return { routed, skipped };
}

function layoutOf(layouts: ReadonlyMap<string, JailLayout>, jail: string): JailLayout {
  const layout = layouts.get(jail);
  if (!layout) throw new Error(`no list layout for jail ${jail}`);
  return layout;
}

// Where each ban of a batch went, by jail and address.
export type Placements = Map<string, Placement>;

// The writes a set of ban decisions needs: +ADDR into a list of the ban's tier that has room (its own
// shard first), and -ADDR from every list of the tier it left (a repeat offence moves up). A ban that
// only a live ban's eviction could make room for gets no write: its placement says so.
export function banWrites(
  decisions: readonly BanDecision[],
  layouts: ReadonlyMap<string, JailLayout>,
  plannerFor: (jail: string) => PlacementPlanner,
  // 'fleet': bans another host decided, placed in free room only, never in a list's last tenth.
  options: { from?: 'local' | 'fleet' } = {},
): { writes: ListWrite[]; placements: Placements } {
  const writes: ListWrite[] = [];
  const placements: Placements = new Map();
  for (const { record, previousTier } of decisions) {
    const layout = layoutOf(layouts, record.jail);
    const planner = plannerFor(record.jail);
    const address: Address = { family: record.family, text: record.address };
    const placement = planner.place(address, record.tier, record.permanent, options.from ?? 'local');
    // An address twice in one batch: the first placement says where it went and what made room for it.
    const key = `${record.jail} ${record.address}`;
    if (!placements.has(key)) placements.set(key, placement);
    // A missing list gets its write all the same: the kernel's refusal says which and what to do.
    if (placement.kind === 'placed' && placement.evicts !== undefined)
      writes.push({ jail: record.jail, list: placement.list, address: placement.evicts, command: `-${placement.evicts}` });
    if (placement.kind !== 'full') writes.push({ jail: record.jail, list: placement.list, address: record.address, command: `+${record.address}` });
    // Out of the old tier after it is in the new one: never in neither. A ban the new tier has no room
    // for stays where it is, still enforced there.
    if (previousTier !== undefined && previousTier !== record.tier && (placement.kind === 'placed' || placement.kind === 'present')) {
      for (const slot of tierSlots(layout, record.family, previousTier))
        writes.push({ jail: record.jail, list: slot.name, address: record.address, command: `-${record.address}` });
      planner.remove(address, previousTier);
    }
  }
  return { writes, placements };
}

// The writes that empty every list of a jail ("/").
export function flushWrites(jail: string, layout: JailLayout | undefined): ListWrite[] {
  return (layout?.slots ?? []).map((slot) => ({ jail, list: slot.name, address: '', command: '/' }));
}

// The writes an unban needs: -ADDR from every list of its jail that could hold the address, and from
// the lists of bans the kernel made by itself unless `detect` is false (a key that may end only the
// bans it made never lifts the firewall's own detection).
export function unbanWrites(routed: readonly RoutedAddress[], layouts: ReadonlyMap<string, JailLayout>, options: { detect?: boolean } = {}): ListWrite[] {
  const writes: ListWrite[] = [];
  for (const { jail, address } of routed) {
    const layout = layoutOf(layouts, jail);
    // Every shard of every tier: a ban goes to another shard when its own is full.
    for (const slot of layout.slots) {
      if (slot.role === 'ban' && slot.family === address.family) writes.push({ jail, list: slot.name, address: address.text, command: `-${address.text}` });
    }
    // A ban the kernel made by itself (in-kernel detection) is lifted too.
    if (options.detect === false) continue;
    for (const slot of layout.slots) {
      if (slot.role === 'detect' && slot.family === address.family) writes.push({ jail, list: slot.name, address: address.text, command: `-${address.text}` });
    }
  }
  return writes;
}
