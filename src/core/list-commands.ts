import type { Address } from './address.js';
import { listFor, type JailConfig } from '../config/schema.js';
import { inputError } from './errors.js';

// One proc write: which list, which command, and why.
export interface ListWrite {
  jail: string;
  list: string;
  address: string;
  command: string;
}

export interface ListWritePlan {
  writes: ListWrite[];
  // Jail and address pairs left out because the jail does not take that family.
  skipped: { jail: string; address: string; reason: string }[];
}

// Routes each address to the lists of the jails that take its family: an IPv4 address never
// goes into an IPv6-only jail's list. An address no selected jail can take is an input error.
export function planListWrites(jails: readonly JailConfig[], addresses: readonly Address[], sign: '+' | '-'): ListWritePlan {
  const writes: ListWrite[] = [];
  const skipped: ListWritePlan['skipped'] = [];
  for (const address of addresses) {
    const takers = jails.filter((jail) => jail.families.includes(address.family));
    if (takers.length === 0) {
      const names = jails.map((jail) => jail.name).join(', ');
      throw inputError(`${address.text} is IPv${address.family}, but jail${jails.length > 1 ? 's' : ''} ${names} take${jails.length > 1 ? '' : 's'} IPv${address.family === 4 ? 6 : 4} only`);
    }
    for (const jail of jails) {
      const list = listFor(jail, address.family);
      if (list === undefined) {
        skipped.push({ jail: jail.name, address: address.text, reason: `jail ${jail.name} is IPv${jail.families[0]}-only` });
        continue;
      }
      writes.push({ jail: jail.name, list, address: address.text, command: `${sign}${address.text}` });
    }
  }
  return { writes, skipped };
}
