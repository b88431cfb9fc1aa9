import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { addressBytes, formatNetwork, maskAddress, parseAddress, parseNetwork, unbannableReason } from '../../src/core/address.js';
import { XtbanError } from '../../src/core/errors.js';

function refusal(input: string): XtbanError {
  try {
    parseAddress(input);
  } catch (error) {
    expect(error).toBeInstanceOf(XtbanError);
    return error as XtbanError;
  }
  throw new Error(`${JSON.stringify(input)} was accepted`);
}

describe('parseAddress', () => {
  it('accepts IPv4 and IPv6 and canonicalises IPv6 to RFC 5952', () => {
    expect(parseAddress('192.0.2.7')).toEqual({ family: 4, text: '192.0.2.7' });
    expect(parseAddress('2001:DB8:0:0:0:0:0:1')).toEqual({ family: 6, text: '2001:db8::1' });
    expect(parseAddress('2001:0db8:0000:0000:0001:0000:0000:0001')).toEqual({ family: 6, text: '2001:db8::1:0:0:1' });
  });

  it('treats ::ffff:1.2.3.4 as the IPv4 address 1.2.3.4, in both spellings', () => {
    expect(parseAddress('::ffff:1.2.3.4')).toEqual({ family: 4, text: '1.2.3.4' });
    expect(parseAddress('::ffff:0102:0304')).toEqual({ family: 4, text: '1.2.3.4' });
  });

  it('reads an address by its bytes: ::192.0.2.9 is IPv6 ::c000:209 (IPv4-compatible, not mapped), in every spelling', () => {
    for (const spelling of ['::192.0.2.9', '::c000:209', '0:0:0:0:0:0:192.0.2.9', '::0:192.0.2.9'])
      expect(parseAddress(spelling)).toEqual({ family: 6, text: '::c000:209' });
    for (const spelling of ['::ffff:192.0.2.9', '0:0:0:0:0:ffff:192.0.2.9', '::FFFF:c000:209'])
      expect(parseAddress(spelling)).toEqual({ family: 4, text: '192.0.2.9' });
    expect(parseAddress('64:ff9b::192.0.2.33')).toEqual({ family: 6, text: '64:ff9b::c000:221' });
    expect(() => parseAddress('::1.2.3.256')).toThrow(/not a valid IP address/);
  });

  it('says which addresses no host sends from, in any spelling', () => {
    for (const text of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '255.255.255.255', '::ffff:0.0.0.0', '::ffff:255.255.255.255']) {
      expect(unbannableReason(parseAddress(text)), text).toMatch(/no host sends from/);
    }
    for (const text of ['0.0.0.1', '255.255.255.254', '::1', '192.0.2.7']) expect(unbannableReason(parseAddress(text)), text).toBeUndefined();
  });

  it.each([
    ['1.2.3.256', /not a valid IP address/],
    ['1.2.3.4/24', /network, a single address is expected/],
    ['1.2.3.4\n+5.6.7.8', /whitespace or control characters/],
    ['fe80::1%eth0', /zone index/],
    ['', /empty address/],
    ['example.com', /not a valid IP address/],
    ['01.2.3.4', /not a valid IP address/],
    ['1.2.3', /not a valid IP address/],
    [' 192.0.2.7', /whitespace/],
    ['192.0.2.7\0', /control characters/],
    ['+192.0.2.7', /not a valid IP address/],
    ['/', /network/],
    ['2001:db8::1::2', /not a valid IP address/],
    ['a'.repeat(100), /too long/],
  ])('refuses %j with exit code 2', (input, message) => {
    const error = refusal(input);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(message);
  });

  it('says that host names are not resolved', () => {
    expect(refusal('server.example.com').hint).toMatch(/host names are not resolved/);
  });
});

describe('networks', () => {
  it('parses CIDRs and clears host bits', () => {
    expect(parseNetwork('192.0.2.77/24')).toEqual({ family: 4, address: '192.0.2.0', prefix: 24 });
    expect(parseNetwork('2001:db8:1::7/48')).toEqual({ family: 6, address: '2001:db8:1::', prefix: 48 });
    expect(parseNetwork('198.51.100.7')).toEqual({ family: 4, address: '198.51.100.7', prefix: 32 });
    expect(parseNetwork('::ffff:192.0.2.0/120')).toEqual({ family: 4, address: '192.0.2.0', prefix: 24 });
  });

  it('refuses bad prefixes', () => {
    expect(() => parseNetwork('192.0.2.0/33')).toThrow(/bad prefix length/);
    expect(() => parseNetwork('192.0.2.0/')).toThrow(/bad prefix length/);
    expect(() => parseNetwork('2001:db8::/129')).toThrow(/bad prefix length/);
    expect(() => parseNetwork('nonsense/8')).toThrow(/not a valid address or CIDR/);
  });

  it('masks per family', () => {
    expect(maskAddress({ family: 4, text: '203.0.113.200' }, 25).text).toBe('203.0.113.128');
    expect(maskAddress({ family: 6, text: '2001:db8:aaaa:bbbb::1' }, 64).text).toBe('2001:db8:aaaa:bbbb::');
    const net = parseNetwork('192.0.2.0/24');
    expect(formatNetwork(net)).toBe('192.0.2.0/24');
    expect(formatNetwork(parseNetwork('2001:db8::7'))).toBe('2001:db8::7');
  });
});

describe('addressBytes', () => {
  it('reads canonical and hand-written forms to the same bytes as ipaddr.js', () => {
    const texts = [
      '0.0.0.0',
      '192.0.2.1',
      '255.255.255.255',
      '::',
      '::1',
      '1::',
      '2001:db8::',
      '2001:db8::7',
      '2001:db8:0:1:2:3:4:5',
      '2001:DB8:0:0:1::',
      'fe80::1:2',
      '2001:0db8:0000:0000:0000:0000:0000:0001',
      '::ffff:192.0.2.1',
      '64:ff9b::192.0.2.33',
    ];
    for (const text of texts) expect(addressBytes(text.includes(':') ? 6 : 4, text), text).toEqual(ipaddr.parse(text).toByteArray());
  });
});
