// What the kernel does with `-s VALUE/MASK`, for tests of the dispatch tree: (source & mask) == value,
// the mask given as /N or as an address, addresses as iptables-save prints them (IPv6 with a dotted
// IPv4 tail included).
import { addressBytes, type Address } from '../../src/core/address.js';

export function sourceMatches(address: Address, spec: string): boolean {
  const [value = '', mask = ''] = spec.replace(/^-s /, '').split('/');
  const width = address.family === 4 ? 4 : 16;
  const maskBytes = /^\d+$/.test(mask)
    ? Array.from({ length: width }, (_, i) => 0xff & (0xff << (8 - Math.max(0, Math.min(8, Number(mask) - i * 8)))))
    : printedBytes(address.family, mask);
  const valueBytes = printedBytes(address.family, value);
  return addressBytes(address.family, address.text).every((byte, i) => (byte & (maskBytes[i] ?? 0)) === (valueBytes[i] ?? 0));
}

// The bytes of an address as iptables-save prints it ("::5.0.0.0" is "::500:0").
function printedBytes(family: 4 | 6, text: string): number[] {
  if (family === 6 && text.includes('.')) {
    const at = text.lastIndexOf(':');
    const [a = 0, b = 0, c = 0, d = 0] = text
      .slice(at + 1)
      .split('.')
      .map(Number);
    return addressBytes(6, `${text.slice(0, at + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`);
  }
  return addressBytes(family, text);
}
