import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_BYTES, parseRequest, requestIdOf } from '../../src/core/serve-protocol.js';

const permitted = new Set(['ssh', 'web']);
const refusal = (line: string) => {
  try {
    parseRequest(line, permitted);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`accepted: ${line}`);
};

describe('serve protocol', () => {
  it('parses every verb, batches and ids', () => {
    expect(parseRequest('ping', permitted)).toEqual({ id: undefined, verb: 'ping' });
    expect(parseRequest('@host1-42 ban ssh 192.0.2.7 2001:DB8::7', permitted)).toEqual({
      id: 'host1-42',
      verb: 'ban',
      jail: 'ssh',
      addresses: [{ family: 4, text: '192.0.2.7' }, { family: 6, text: '2001:db8::7' }],
    });
    expect(parseRequest('query web ::ffff:192.0.2.9', permitted)).toMatchObject({ verb: 'query', address: { family: 4, text: '192.0.2.9' } });
    expect(parseRequest('flush web', permitted)).toEqual({ id: undefined, verb: 'flush', jail: 'web' });
  });

  it.each([
    ['ban ssh 192.0.2.7; reboot', 'unexpected character ";"'],
    ['ban ssh $(id)', 'unexpected character "$"'],
    ['ban ssh `id`', 'unexpected character "`"'],
    ['ban ssh 192.0.2.7 | nc', 'unexpected character "|"'],
    ['ban ssh 192.0.2.7 && unban ssh 192.0.2.8', 'unexpected character "&"'],
    ['ban  ssh 192.0.2.7', 'exactly one space'],
    ['ban ssh 192.0.2.7\tx', 'unexpected character "\\t"'],
    ['ban mail 192.0.2.7', 'jail mail is not permitted here'],
    ['ban ssh', 'ban needs an address'],
    ['ban ssh 1.2.3.256', 'address 1: "1.2.3.256" is not a valid IP address'],
    ['ban ssh 192.0.2.0', ''],
    ['frobnicate ssh 192.0.2.7', 'unknown verb "frobnicate"'],
    ['ping extra', 'ping takes no arguments'],
    ['query ssh 192.0.2.1 192.0.2.2', 'query takes one address'],
    ['flush ssh 192.0.2.1', 'flush takes only a jail'],
    ['@ ban ssh 192.0.2.7', 'a request id is @'],
    [`ban ssh ${Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(' ')}`, 'at most 256 addresses'],
    [`ban ssh ${'1'.repeat(MAX_LINE_BYTES)}`, `line longer than ${MAX_LINE_BYTES} bytes`],
  ])('refuses %j', (line, reason) => {
    if (reason === '') {
      expect(() => parseRequest(line, permitted)).not.toThrow();
      return;
    }
    expect(refusal(line)).toContain(reason);
  });
});

describe('requestIdOf', () => {
  it("finds a request's id even when the rest of the line is refused, and nothing else", () => {
    expect(requestIdOf('@abc-1 ban web 192.0.2.1')).toBe('abc-1');
    expect(requestIdOf('@abc-1 frobnicate; rm -rf /')).toBe('abc-1');
    expect(requestIdOf('@abc-1')).toBe('abc-1');
    for (const line of ['ban ssh 192.0.2.1', '@ ban', '@a;b ban', `@${'x'.repeat(65)} ping`, ' @abc ping', '']) expect(requestIdOf(line), line).toBeUndefined();
  });
});

describe('LineSplitter', () => {
  it('splits lines across chunks, drops CR, and reports overlong and binary lines without keeping them', () => {
    const seen: unknown[] = [];
    const splitter = new LineSplitter((line) => seen.push(line));
    splitter.push(Buffer.from('pi'));
    splitter.push(Buffer.from('ng\r\nban ssh 192.0.2.7\n'));
    splitter.push(Buffer.alloc(MAX_LINE_BYTES * 3, 0x61));
    splitter.push(Buffer.from('\n'));
    splitter.push(Buffer.from([0xff, 0xfe, 0x00, 0x0a]));
    splitter.push(Buffer.from('ping\n'));
    expect(seen).toEqual(['ping', 'ban ssh 192.0.2.7', { overlong: true }, { binary: true }, 'ping']);
  });
});
