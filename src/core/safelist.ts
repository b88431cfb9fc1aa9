import { addressBytes, formatNetwork, parseNetwork, type Network } from './address.js';
import { inputError } from './errors.js';

// A network that must never be banned, and where it was declared (for messages).
export interface SafeEntry {
  network: Network;
  origin: string;
}

export interface Safelist {
  readonly entries: readonly SafeEntry[];
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
      throw inputError(
        `safelist ${where}: ${JSON.stringify(line)} is not an address or CIDR`,
        'one address or CIDR per line (192.0.2.0/24, 2001:db8::7), # for comments',
      );
    }
  });
  return entries;
}

// True when two networks share at least one address (one contains the other).
export function networksOverlap(a: Network, b: Network): boolean {
  return a.family === b.family && samePrefix(addressBytes(a.family, a.address), addressBytes(b.family, b.address), Math.min(a.prefix, b.prefix));
}

// The safelist entry that covers any part of this network (a masked ban covers a whole range), if any.
// networksOverlap against each entry, with the entries read to bytes once: a status or reap over
// 100,000 list entries asks once per entry.
export function safelistMatch(safelist: Safelist, network: Network): SafeEntry | undefined {
  const compiled = compiledEntries(safelist);
  let bytes: number[] | undefined;
  for (const item of compiled) {
    if (item.entry.network.family !== network.family) continue;
    bytes ??= addressBytes(network.family, network.address);
    if (samePrefix(item.bytes, bytes, Math.min(item.entry.network.prefix, network.prefix))) return item.entry;
  }
  return undefined;
}

// Each entry's network as bytes, computed once per safelist (a safelist is never changed once built).
const compiledSafelists = new WeakMap<Safelist, { entry: SafeEntry; bytes: number[] }[]>();
function compiledEntries(safelist: Safelist): { entry: SafeEntry; bytes: number[] }[] {
  let compiled = compiledSafelists.get(safelist);
  if (!compiled) {
    compiled = safelist.entries.map((entry) => ({ entry, bytes: addressBytes(entry.network.family, entry.network.address) }));
    compiledSafelists.set(safelist, compiled);
  }
  return compiled;
}

// True when the first `bits` bits of a and b are equal.
function samePrefix(a: readonly number[], b: readonly number[], bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole] ?? 0) & mask) === ((b[whole] ?? 0) & mask);
}

// "192.0.2.7 is safelisted (192.0.2.0/24 from /etc/xtban/safelist.txt:3)"
export function describeMatch(network: Network, entry: SafeEntry): string {
  return `${formatNetwork(network)} is safelisted (${formatNetwork(entry.network)} from ${entry.origin})`;
}
