import { describe, expect, it } from 'vitest';
import { retryDelayMs, settleBatch } from '../../src/core/delivery.js';

describe('settleBatch', () => {
  const sent = [1, 2, 3, 4].map((seq) => ({ seq, line: `@i-${seq} ban ssh 192.0.2.${seq}` }));
  const idOf = (seq: number) => `i-${seq}`;

  it('acknowledges and sets aside up to the first request not done, whatever order the answers come in', () => {
    expect(settleBatch(sent, ['@i-2 error refused: no', '@i-1 ok banned 1', '@i-4 ok banned 1', '@i-3 ok duplicate'], idOf)).toEqual({
      acknowledged: [1, 3, 4],
      refused: [{ seq: 2, request: '@i-2 ban ssh 192.0.2.2', answer: '@i-2 error refused: no' }],
      stoppedAt: undefined,
    });
    expect(settleBatch(sent, ['@i-1 ok', '@i-2 error failed: kernel', '@i-3 ok', '@i-4 error refused: x'], idOf)).toEqual({
      acknowledged: [1],
      refused: [],
      stoppedAt: { seq: 2, request: '@i-2 ban ssh 192.0.2.2', answer: '@i-2 error failed: kernel' },
    });
    // An answer missing (the session ended), another store's id, or noise: stop there.
    expect(settleBatch(sent, ['@i-1 ok', '@other-2 ok', 'Connection closed', '@i-3 ok'], idOf).stoppedAt).toEqual({
      seq: 2,
      request: '@i-2 ban ssh 192.0.2.2',
      answer: undefined,
    });
  });
});

describe('retryDelayMs', () => {
  it('waits 1 s after a first failure, doubling, at most 30 s, and not at all after a success', () => {
    expect([0, 1, 2, 3, 5, 6, 50].map(retryDelayMs)).toEqual([0, 1000, 2000, 4000, 16_000, 30_000, 30_000]);
  });
});
