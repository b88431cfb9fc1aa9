import { describe, expect, it } from 'vitest';
import { parseNetwork } from '../../src/core/address.js';
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
    expect(() => parseSafelistText('192.0.2.0/25\n198.51.100.300\n', '/etc/xtban/safelist.txt')).toThrow('safelist /etc/xtban/safelist.txt:2: "198.51.100.300" is not an address or CIDR');
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
});
