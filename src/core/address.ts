import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { inputError } from './errors.js';

export type Family = 4 | 6;

// A validated, canonical address: what is shown to people and what is written to the kernel.
export interface Address {
  family: Family;
  // IPv4 dotted quad or IPv6 in RFC 5952 compressed form.
  text: string;
}

// A validated network: an address range from a CIDR or a single address.
export interface Network {
  family: Family;
  // Canonical network address (host bits cleared).
  address: string;
  prefix: number;
}

const CONTROL_OR_SPACE = /[\s\x00-\x1f\x7f]/;

function describe(input: string): string {
  return JSON.stringify(input);
}

// Parses one address as a user would type it; refuses anything that is not exactly one IP address.
export function parseAddress(input: string, where = 'address'): Address {
  if (typeof input !== 'string' || input.length === 0) {
    throw inputError(`${where}: empty address`, 'give an IPv4 address such as 192.0.2.7 or an IPv6 address such as 2001:db8::7');
  }
  if (input.length > 64) {
    throw inputError(`${where}: ${describe(input.slice(0, 64))}... is too long to be an IP address`);
  }
  if (CONTROL_OR_SPACE.test(input)) {
    throw inputError(`${where}: ${describe(input)} contains whitespace or control characters`, 'give exactly one address per argument');
  }
  if (input.includes('/')) {
    throw inputError(
      `${where}: ${describe(input)} is a network, a single address is expected`,
      'ban one address at a time; ranges are banned with a jail mask',
    );
  }
  if (input.includes('%')) {
    throw inputError(
      `${where}: ${describe(input)} has an IPv6 zone index, which the kernel lists cannot hold`,
      'drop the %zone part; link-local addresses are the same on every link',
    );
  }
  const kind = isIP(input);
  if (kind === 0) {
    const looksLikeName = /[g-z]/i.test(input) && !input.includes(':');
    throw inputError(
      `${where}: ${describe(input)} is not a valid IP address`,
      looksLikeName
        ? 'host names are not resolved: give the IP address itself'
        : 'IPv4 is four decimal numbers 0-255 (192.0.2.7); IPv6 is hex groups (2001:db8::7)',
    );
  }
  if (kind === 4) {
    return { family: 4, text: input };
  }
  // ipaddr.js reads any dotted tail as IPv4-mapped (::192.0.2.9 as ::ffff:192.0.2.9): the tail is made
  // two hex groups first, so that the address is what its bytes say (::192.0.2.9 is ::c000:209, IPv6).
  const dotted = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(input);
  const hex = dotted
    ? `${dotted[1]}${((Number(dotted[2]) << 8) | Number(dotted[3])).toString(16)}:${((Number(dotted[4]) << 8) | Number(dotted[5])).toString(16)}`
    : input;
  const parsed = ipaddr.IPv6.parse(hex);
  if (parsed.isIPv4MappedAddress()) {
    return { family: 4, text: parsed.toIPv4Address().toString() };
  }
  return { family: 6, text: parsed.toRFC5952String() };
}

// Why an address can never be an offender's source, or undefined: nothing sends from the unspecified
// address or the limited broadcast address, and a ban of either is a mistake or an attack on the lists.
export function unbannableReason(address: Address): string | undefined {
  if (address.text === '0.0.0.0' || address.text === '::') return `${address.text} is the unspecified address, which no host sends from`;
  if (address.text === '255.255.255.255') return `${address.text} is the broadcast address, which no host sends from`;
  return undefined;
}

// Parses an address or CIDR (safelists, masks); a bare address is a /32 or /128.
export function parseNetwork(input: string, where = 'network'): Network {
  if (typeof input !== 'string' || input.length === 0) {
    throw inputError(`${where}: empty network`, 'give an address or a CIDR such as 192.0.2.0/24');
  }
  const slash = input.indexOf('/');
  const addressPart = slash === -1 ? input : input.slice(0, slash);
  const prefixPart = slash === -1 ? undefined : input.slice(slash + 1);
  let address: Address;
  try {
    address = parseAddress(addressPart, where);
  } catch (_error) {
    throw inputError(`${where}: ${describe(input)} is not a valid address or CIDR`, 'use forms such as 192.0.2.0/24, 198.51.100.7, 2001:db8::/32');
  }
  const mapped = address.family === 4 && addressPart.includes(':');
  const max = address.family === 4 && !mapped ? 32 : 128;
  let prefix = max;
  if (prefixPart !== undefined) {
    if (!/^\d{1,3}$/.test(prefixPart) || Number(prefixPart) > max) {
      throw inputError(`${where}: ${describe(input)} has a bad prefix length`, `${max === 32 ? 'IPv4' : 'IPv6'} prefixes run from 0 to ${max}`);
    }
    prefix = Number(prefixPart);
    // A mapped IPv4 CIDR (::ffff:192.0.2.0/120) keeps its meaning as IPv4.
    if (mapped) {
      if (prefix < 96) throw inputError(`${where}: ${describe(input)} mixes an IPv4-mapped address with a prefix shorter than /96`);
      prefix -= 96;
    }
  }
  if (mapped && prefix === 128) prefix = 32;
  return { family: address.family, address: maskAddress(address, prefix).text, prefix };
}

// Clears host bits: the kernel does not apply a rule's --mask to written addresses, so xtban does.
export function maskAddress(address: Address, prefix: number): Address {
  const bytes = ipaddr.parse(address.text).toByteArray();
  const keep = prefix;
  for (let i = 0; i < bytes.length; i++) {
    const bitsHere = Math.max(0, Math.min(8, keep - i * 8));
    const byte = bytes[i] ?? 0;
    bytes[i] = bitsHere === 8 ? byte : bitsHere === 0 ? 0 : byte & (0xff << (8 - bitsHere)) & 0xff;
  }
  const masked = ipaddr.fromByteArray(bytes);
  return { family: address.family, text: address.family === 4 ? masked.toString() : (masked as ipaddr.IPv6).toRFC5952String() };
}

// Renders a network as people write it.
export function formatNetwork(network: Network): string {
  const max = network.family === 4 ? 32 : 128;
  return network.prefix === max ? network.address : `${network.address}/${network.prefix}`;
}

// A prefix length as the --mask iptables-save prints ("255.255.255.0", "ffff:ffff:ffff:ffff::").
export function maskText(family: Family, prefix: number): string {
  if (family === 4) return ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString();
  return ipaddr.IPv6.subnetMaskFromPrefixLength(prefix).toRFC5952String();
}

// The bytes of a canonical address text (4 for IPv4, 16 for IPv6), read by hand: ipaddr.js takes about
// 2.5 µs per IPv6 address, too slow for a safelist check on each of 100,000 list entries. Anything not
// in plain dotted or hex-group form (an embedded IPv4 tail, say) goes to ipaddr.js.
export function addressBytes(family: Family, text: string): number[] {
  return (family === 4 ? dottedBytes(text) : hexGroupBytes(text)) ?? ipaddr.parse(text).toByteArray();
}

function dottedBytes(text: string): number[] | undefined {
  const bytes = [0, 0, 0, 0];
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || value > 255 || part > 3) return undefined;
      bytes[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      value = value * 10 + (c - 48);
      digits++;
    } else {
      return undefined;
    }
  }
  return part === 4 ? bytes : undefined;
}

function hexGroupBytes(text: string): number[] | undefined {
  const gap = text.indexOf('::');
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return undefined;
  const head = gap === -1 ? text : text.slice(0, gap);
  const tail = gap === -1 ? '' : text.slice(gap + 2);
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  if (gap === -1 ? missing !== 0 : missing < 1) return undefined;
  const bytes: number[] = [];
  for (const group of [...headGroups, ...new Array<string>(gap === -1 ? 0 : missing).fill('0'), ...tailGroups]) {
    if (group.length === 0 || group.length > 4) return undefined;
    let value = 0;
    for (let i = 0; i < group.length; i++) {
      const c = group.charCodeAt(i) | 0x20;
      if (c >= 48 && c <= 57) value = value * 16 + (c - 48);
      else if (c >= 97 && c <= 102) value = value * 16 + (c - 87);
      else return undefined;
    }
    bytes.push(value >> 8, value & 0xff);
  }
  return bytes;
}

// "IPv4" / "IPv6" for messages.
export function familyName(family: 4 | 6): string {
  return family === 4 ? 'IPv4' : 'IPv6';
}
