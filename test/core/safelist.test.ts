import { describe, expect, it } from 'vitest';
import { maskAddress, parseNetwork } from '../../src/core/address.js';
import { describeMatch, networksOverlap, parseSafelistText, safelistMatch } from '../../src/core/safelist.js';

describe('safelist', () => {
  it('parses addresses and CIDRs with comments, remembering file and line', () => {
    const entries = parseSafelistText('# friends\n192.0.2.0/25\n\n2001:db8:1::7  # monitor\n', 'safe.txt');
    expect(entries).toEqual([
      { network: { family: 4, address: '192.0.2.0', prefix: 25 }, origin: 'safe.txt:2' },
      { network: { family: 6, address: '2001:db8:1::7', prefix: 128 }, origin: 'safe.txt:4' },
    ]);
  });

  it('stops at a bad line with the file and line number', () => {
    expect(() => parseSafelistText('192.0.2.0/25\n198.51.100.300\n', '/etc/xtban/safelist.txt')).toThrow(
      'safelist /etc/xtban/safelist.txt:2: "198.51.100.300" is not an address or CIDR',
    );
  });

  it('matches single addresses and whole banned ranges that touch a safe network', () => {
    const safelist = { entries: parseSafelistText('192.0.2.0/25\n2001:db8:1::7\n', 's') };
    expect(safelistMatch(safelist, parseNetwork('192.0.2.100'))?.origin).toBe('s:1');
    expect(safelistMatch(safelist, parseNetwork('192.0.2.200'))).toBeUndefined();
    // A /24 ban would cover the safe /25.
    expect(safelistMatch(safelist, parseNetwork('192.0.2.200/24'))?.origin).toBe('s:1');
    // A /64 ban would cover the safe address.
    expect(safelistMatch(safelist, parseNetwork('2001:db8:1::99/64'))?.origin).toBe('s:2');
    expect(safelistMatch(safelist, parseNetwork('2001:db8:2::7'))).toBeUndefined();
    const entry = safelistMatch(safelist, parseNetwork('192.0.2.5'));
    if (!entry) throw new Error('no match');
    expect(describeMatch(parseNetwork('192.0.2.5'), entry)).toBe('192.0.2.5 is safelisted (192.0.2.0/25 from s:1)');
  });

  it('never matches across families', () => {
    expect(networksOverlap(parseNetwork('::/0'), parseNetwork('192.0.2.1'))).toBe(false);
  });

  it('gives the same answer as masking both networks, for every prefix length', () => {
    // A seeded walk over ranges around a few safe networks, prefixes that do and do not fall on a byte.
    const safelist = { entries: parseSafelistText('192.0.2.128/25\n198.51.100.7\n203.0.113.0/27\n2001:db8:a0::/44\n2001:db8::1\n', 's') };
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const bases = ['192.0.2.0', '198.51.100.0', '203.0.113.0'];
    const outcomes = { matched: 0, missed: 0 };
    for (let i = 0; i < 2000; i++) {
      const network =
        i % 2 === 0
          ? parseNetwork(`${bases[next(3)]?.replace(/0$/, String(next(256)))}/${next(33)}`)
          : parseNetwork(`2001:db8:${next(256).toString(16)}::${next(4).toString(16)}/${next(129)}`);
      // The rule by masking both networks to the shorter prefix and comparing the printed results.
      const masked = (of: { family: 4 | 6; address: string }, prefix: number) => maskAddress({ family: of.family, text: of.address }, prefix).text;
      const expected = safelist.entries.find(
        (entry) =>
          entry.network.family === network.family &&
          masked(entry.network, Math.min(entry.network.prefix, network.prefix)) === masked(network, Math.min(entry.network.prefix, network.prefix)),
      );
      expect(safelist.entries.find((entry) => networksOverlap(entry.network, network))).toBe(expected);
      expect(safelistMatch(safelist, network), `${network.address}/${network.prefix}`).toBe(expected);
      outcomes[expected ? 'matched' : 'missed']++;
    }
    expect(outcomes.matched).toBeGreaterThan(200);
    expect(outcomes.missed).toBeGreaterThan(200);
    expect(safelistMatch({ entries: [] }, parseNetwork('192.0.2.1'))).toBeUndefined();
  });
});
