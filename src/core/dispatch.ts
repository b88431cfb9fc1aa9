import { addressBytes, type Address, type Family } from './address.js';

// How a jail of many lists finds the one list an address can be in: by a few bits of the address, the
// lowest bits of the jail's prefix (so that every address of a masked network goes the same way). The
// jail's chain tests them with `-s VALUE/MASK` (iptables takes masks that are no prefix, in both
// families) in a tree of at most 16 branches a level, so a packet meets a few address compares and
// the recent rules of one shard, however many shards there are. xtban places a ban by the same bits.

// Bits a level of the tree tests: 16 branches at most.
export const BITS_PER_LEVEL = 4;

// How many address bits pick a shard among `shards` (a power of two).
export function dispatchBits(shards: number): number {
  return Math.round(Math.log2(shards));
}

// The smallest power of two at least `count`.
export function powerOfTwoAtLeast(count: number): number {
  let shards = 1;
  while (shards < count) shards *= 2;
  return shards;
}

// The shard an address goes to: the value of the `bits` lowest bits of its first `prefix` bits.
export function dispatchShard(address: Address, prefix: number, bits: number): number {
  const bytes = addressBytes(address.family, address.text);
  let shard = 0;
  for (let i = 0; i < bits; i++) {
    const position = prefix - 1 - i;
    const bit = ((bytes[position >> 3] ?? 0) >> (7 - (position & 7))) & 1;
    shard |= bit << i;
  }
  return shard;
}

// The levels of the tree, top first: how many of the shard number's bits each tests (the top level the
// odd ones out, the rest BITS_PER_LEVEL each), and which (the lowest bit of a level).
export function dispatchLevels(bits: number): { bits: number; low: number }[] {
  const levels: { bits: number; low: number }[] = [];
  for (let low = 0; low < bits; low += BITS_PER_LEVEL) levels.unshift({ bits: Math.min(BITS_PER_LEVEL, bits - low), low });
  return levels;
}

// The -s match of one branch: the shard-number bits [low, low + count) equal to those of `value`, as
// iptables-save prints it (a mask that is a prefix as /N, any other as an address).
export function dispatchMatch(family: Family, prefix: number, low: number, count: number, value: number): string {
  const width = family === 4 ? 32 : 128;
  const addressBits = new Array<number>(width / 8).fill(0);
  const maskBits = new Array<number>(width / 8).fill(0);
  for (let i = low; i < low + count; i++) {
    const position = prefix - 1 - i;
    const bit = 1 << (7 - (position & 7));
    maskBits[position >> 3] = (maskBits[position >> 3] ?? 0) | bit;
    if ((value >> i) & 1) addressBits[position >> 3] = (addressBits[position >> 3] ?? 0) | bit;
  }
  return `-s ${formatBytes(family, addressBits)}/${maskOf(family, maskBits)}`;
}

// A mask as iptables-save prints it: /N when its bits are a prefix, the address form otherwise.
function maskOf(family: Family, bytes: readonly number[]): string {
  let ones = 0;
  while (ones < bytes.length * 8 && ((bytes[ones >> 3] ?? 0) >> (7 - (ones & 7))) & 1) ones++;
  const rest = bytes.every((byte, index) => {
    const kept = Math.max(0, Math.min(8, ones - index * 8));
    return (byte & (0xff >> kept)) === 0;
  });
  return rest ? String(ones) : formatBytes(family, bytes);
}

// An address as glibc's inet_ntop writes it, which is what iptables-save prints: for IPv6 the longest
// run of two or more zero groups (the first of equal ones) as "::", and the last 32 bits in dotted
// form when the six groups before them are all zero (or five, then ffff).
export function formatBytes(family: Family, bytes: readonly number[]): string {
  if (family === 4) return bytes.join('.');
  const words = Array.from({ length: 8 }, (_, index) => ((bytes[index * 2] ?? 0) << 8) | (bytes[index * 2 + 1] ?? 0));
  let best = { base: -1, length: 0 };
  let current = { base: -1, length: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      current = current.base === -1 ? { base: i, length: 1 } : { base: current.base, length: current.length + 1 };
      if (current.length > best.length) best = current;
    } else {
      current = { base: -1, length: 0 };
    }
  }
  if (best.length < 2) best = { base: -1, length: 0 };
  const dotted = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  if (best.base === 0 && (best.length === 6 || (best.length === 5 && words[5] === 0xffff))) {
    return best.length === 6 ? `::${dotted}` : `::ffff:${dotted}`;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === best.base) {
      text += '::';
      i += best.length - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += (words[i] ?? 0).toString(16);
  }
  return text;
}
