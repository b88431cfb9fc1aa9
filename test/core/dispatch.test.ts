import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressBytes, maskAddress, type Address } from '../../src/core/address.js';
import { sourceMatches } from '../helpers/source-match.js';
import { dispatchBits, dispatchLevels, dispatchMatch, dispatchShard, formatBytes, powerOfTwoAtLeast } from '../../src/core/dispatch.js';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c, d]): Address => ({ family: 4, text: `${a}.${b}.${c}.${d}` }));
const v6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((words): Address => ({ family: 6, text: words.map((word) => word.toString(16)).join(':') }));

describe('dispatch by address bits', () => {
  it('prints addresses and masks as iptables-save does (glibc inet_ntop)', () => {
    // Read off iptables 1.8.9 (nf_tables): what it saved for what was written.
    expect(dispatchMatch(4, 32, 0, 4, 5)).toBe('-s 0.0.0.5/0.0.0.15');
    expect(dispatchMatch(4, 32, 8, 4, 1 << 8)).toBe('-s 0.0.1.0/0.0.15.0');
    expect(dispatchMatch(4, 32, 0, 4, 0)).toBe('-s 0.0.0.0/0.0.0.15');
    expect(dispatchMatch(6, 128, 0, 4, 5)).toBe('-s ::5/::f');
    expect(dispatchMatch(6, 128, 0, 4, 0)).toBe('-s ::/::f');
    expect(dispatchMatch(6, 64, 0, 4, 5)).toBe('-s 0:0:0:5::/0:0:0:f::');
    expect(formatBytes(6, addressBytes(6, '::500:0'))).toBe('::5.0.0.0');
    expect(formatBytes(6, addressBytes(6, '::f00:0'))).toBe('::15.0.0.0');
    expect(formatBytes(6, addressBytes(6, '::ffff:c000:201'))).toBe('::ffff:192.0.2.1');
    expect(formatBytes(6, addressBytes(6, '2001:db8::1'))).toBe('2001:db8::1');
    expect(formatBytes(6, addressBytes(6, '2001:db8:0:1:0:0:0:1'))).toBe('2001:db8:0:1::1');
    // A lone zero group is not shortened; of two equal runs the first is.
    expect(formatBytes(6, addressBytes(6, '1:0:2:3:4:5:6:7'))).toBe('1:0:2:3:4:5:6:7');
    expect(formatBytes(6, addressBytes(6, '1:0:0:2:3:0:0:4'))).toBe('1::2:3:0:0:4');
    expect(formatBytes(6, addressBytes(6, '::'))).toBe('::');
    // A mask that is a prefix prints as its length.
    expect(dispatchMatch(4, 4, 0, 4, 3)).toBe('-s 48.0.0.0/4');
  });

  it('cuts the shard number into levels of at most 16 branches, the odd bits at the top', () => {
    expect(dispatchLevels(4)).toEqual([{ bits: 4, low: 0 }]);
    expect(dispatchLevels(11)).toEqual([
      { bits: 3, low: 8 },
      { bits: 4, low: 4 },
      { bits: 4, low: 0 },
    ]);
    expect(dispatchBits(2048)).toBe(11);
    expect(powerOfTwoAtLeast(162)).toBe(256);
    expect(powerOfTwoAtLeast(1)).toBe(1);
  });

  it('sends every address down the one branch of each level that leads to its shard, in both families and any prefix', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 12, max: 128 }), (address, bits, wantPrefix) => {
        const prefix = Math.min(wantPrefix, address.family === 4 ? 32 : 128);
        const shard = dispatchShard(address, prefix, bits);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(2 ** bits);
        // Every address of the masked network goes the same way.
        expect(dispatchShard(maskAddress(address, prefix), prefix, bits)).toBe(shard);
        for (const level of dispatchLevels(bits)) {
          const taken = Array.from({ length: 2 ** level.bits }, (_, branch) => branch).filter((branch) =>
            sourceMatches(address, dispatchMatch(address.family, prefix, level.low, level.bits, branch << level.low)),
          );
          expect(taken).toEqual([(shard >> level.low) & (2 ** level.bits - 1)]);
        }
      }),
      { numRuns: 400 },
    );
  });
});
