import { describe, expect, it } from 'vitest';
import { classifyAnswer, failedAnswer, LineSplitter, MAX_LINE_BYTES, parseRequest, refusedAnswer, requestIdOf } from '../../src/core/serve-protocol.js';

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
      addresses: [
        { family: 4, text: '192.0.2.7' },
        { family: 6, text: '2001:db8::7' },
      ],
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

describe('classifyAnswer', () => {
  it('tells done, refused for good and failed for now apart, with the id', () => {
    expect(classifyAnswer('@a1-7 ok banned 1')).toEqual({ id: 'a1-7', kind: 'ok', detail: 'banned 1' });
    expect(classifyAnswer('ok')).toEqual({ id: undefined, kind: 'ok', detail: '' });
    expect(classifyAnswer(`@a1-8 ${refusedAnswer('jail web is not permitted here')}`)).toEqual({
      id: 'a1-8',
      kind: 'refused',
      detail: 'jail web is not permitted here',
    });
    expect(classifyAnswer(`@a1-9 ${failedAnswer('recorded, but the kernel refused: ENOSPC')}`)).toMatchObject({ kind: 'failed' });
    for (const line of ['', 'banned', 'okay', '@a;b ok', 'Permission denied (publickey).']) expect(classifyAnswer(line), line).toBeUndefined();
  });

  it('reads the answers of servers that said only "error": the request\'s own faults are refused, the rest failed', () => {
    const legacy = (detail: string) => classifyAnswer(`@a-1 error ${detail}`)?.kind;
    for (const detail of [
      'jail web is not permitted here',
      'jail web is not configured here',
      '203.0.113.9 is safelisted (safelist.addresses 203.0.113.0/24); nothing written',
      'unexpected character ";": only letters, digits, spaces and . : _ @ - are allowed',
      'unknown verb "drop": use ping, ban, unban, query or flush',
      'line too long: refused',
      'binary data: refused',
      'address 1: "1.2.3.256" is not a valid IP address',
      'query takes one address',
    ])
      expect(legacy(detail), detail).toBe('refused');
    for (const detail of [
      'recorded, but the kernel refused: write /proc/net/xt_recent/xtban-ssh: ENOSPC',
      'flush failed',
      'ban store /var/lib/xtban/bans.sqlite: the disk is full',
    ]) {
      expect(legacy(detail), detail).toBe('failed');
    }
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
