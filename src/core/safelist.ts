import { formatNetwork, maskAddress, parseNetwork, type Network } from './address.js';
import { inputError } from './errors.js';

// A network that must never be banned, and where it was declared (for messages).
export interface SafeEntry {
  network: Network;
  origin: string;
}

export interface Safelist {
  entries: SafeEntry[];
}

// Parses a safelist file: one address or CIDR per line, `#` starts a comment. A bad line stops
// everything with the file and line: a broken safelist must never become an empty one.
export function parseSafelistText(text: string, file: string): SafeEntry[] {
  const entries: SafeEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const where = `${file}:${index + 1}`;
    try {
      entries.push({ network: parseNetwork(line, where), origin: where });
    } catch {
      throw inputError(`safelist ${where}: ${JSON.stringify(line)} is not an address or CIDR`, 'one address or CIDR per line (192.0.2.0/24, 2001:db8::7), # for comments');
    }
  });
  return entries;
}

// True when two networks share at least one address (one contains the other).
export function networksOverlap(a: Network, b: Network): boolean {
  if (a.family !== b.family) return false;
  const prefix = Math.min(a.prefix, b.prefix);
  return maskAddress({ family: a.family, text: a.address }, prefix).text === maskAddress({ family: b.family, text: b.address }, prefix).text;
}

// The safelist entry that covers any part of this network (a masked ban covers a whole range), if any.
export function safelistMatch(safelist: Safelist, network: Network): SafeEntry | undefined {
  return safelist.entries.find((entry) => networksOverlap(entry.network, network));
}

// "192.0.2.7 is safelisted (192.0.2.0/24 from /etc/xtban/safelist.txt:3)"
export function describeMatch(network: Network, entry: SafeEntry): string {
  return `${formatNetwork(network)} is safelisted (${formatNetwork(entry.network)} from ${entry.origin})`;
}
