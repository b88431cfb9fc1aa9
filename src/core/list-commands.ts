import { maskAddress, type Address } from './address.js';
import type { JailConfig } from '../config/schema.js';
import type { BanDecision } from './bans.js';
import { inputError } from './errors.js';
import { slotFor, type JailLayout } from './layout.js';

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
      throw inputError(`${address.text} is IPv${address.family}, but jail${jails.length > 1 ? 's' : ''} ${names} take${jails.length > 1 ? '' : 's'} IPv${address.family === 4 ? 6 : 4} only`);
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

// The writes a set of ban decisions needs: +ADDR into the list of the ban's tier and shard, and
// -ADDR from the list of the tier it left (a repeat offence moves up).
export function banWrites(decisions: readonly BanDecision[], layouts: ReadonlyMap<string, JailLayout>): ListWrite[] {
  const writes: ListWrite[] = [];
  for (const { record, previousTier } of decisions) {
    const layout = layoutOf(layouts, record.jail);
    const address: Address = { family: record.family, text: record.address };
    const slot = slotFor(layout, address, record.tier);
    if (!slot) continue;
    writes.push({ jail: record.jail, list: slot.name, address: record.address, command: `+${record.address}` });
    if (previousTier !== undefined && previousTier !== record.tier) {
      const left = slotFor(layout, address, previousTier);
      if (left) writes.push({ jail: record.jail, list: left.name, address: record.address, command: `-${record.address}` });
    }
  }
  return writes;
}

// The writes that empty every list of a jail ("/").
export function flushWrites(jail: string, layout: JailLayout | undefined): ListWrite[] {
  return (layout?.slots ?? []).map((slot) => ({ jail, list: slot.name, address: '', command: '/' }));
}

// The writes an unban needs: -ADDR from the address's list in every tier of its jail.
export function unbanWrites(routed: readonly RoutedAddress[], layouts: ReadonlyMap<string, JailLayout>): ListWrite[] {
  const writes: ListWrite[] = [];
  for (const { jail, address } of routed) {
    const layout = layoutOf(layouts, jail);
    const tiers = new Set(layout.slots.filter((slot) => slot.role === 'ban').map((slot) => slot.tier));
    for (const tier of tiers) {
      const slot = slotFor(layout, address, tier);
      if (slot) writes.push({ jail, list: slot.name, address: address.text, command: `-${address.text}` });
    }
    // A ban the kernel made by itself (in-kernel detection) is lifted too.
    for (const slot of layout.slots) {
      if (slot.role === 'detect' && slot.family === address.family) writes.push({ jail, list: slot.name, address: address.text, command: `-${address.text}` });
    }
  }
  return writes;
}
