// The list parser against files captured from Linux 6.18 (fixtures/proc/README.md) and against bad input.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { ExitCode, XtbanError } from '../../src/core/errors.js';
import { hitCount, parseRecentList } from '../../src/core/proc-format.js';
import { newestStamp } from '../helpers/newest-stamp.js';
import type { RecentEntry } from '../../src/core/proc-format.js';

const LISTS = fileURLToPath(new URL('../../fixtures/proc/net/xt_recent/', import.meta.url));

function fixture(name: string): RecentEntry[] {
  return parseRecentList(readFileSync(LISTS + name, 'latin1'), `fixtures/${name}`);
}

function byAddress(entries: RecentEntry[], address: string): RecentEntry {
  const entry = entries.find((e) => e.address === address);
  if (entry === undefined) throw new Error(`${address} not in list`);
  return entry;
}

function thrown(fn: () => unknown): XtbanError {
  try {
    fn();
  } catch (error) {
    if (error instanceof XtbanError) return error;
    throw error;
  }
  throw new Error('expected an XtbanError, nothing was thrown');
}

describe('parseRecentList on captured fixtures', () => {
  it('ipv4: every field of every entry, in the hash order the kernel printed', () => {
    expect(fixture('ipv4')).toEqual([
      { address: '198.51.100.7', printed: '198.51.100.7', family: 4, ttl: 0, lastSeen: 4294973282, oldestPkt: 2, stamps: [4294973079, 4294973282] },
      { address: '203.0.113.99', printed: '203.0.113.99', family: 4, ttl: 0, lastSeen: 4294973130, oldestPkt: 1, stamps: [4294973130] },
      { address: '192.0.2.1', printed: '192.0.2.1', family: 4, ttl: 0, lastSeen: 4294973232, oldestPkt: 1, stamps: [4294973232] },
      {
        address: '192.0.2.10',
        printed: '192.0.2.10',
        family: 4,
        ttl: 0,
        lastSeen: 4294973334,
        oldestPkt: 3,
        stamps: [4294973027, 4294973181, 4294973334],
      },
    ]);
  });

  it('ipv6: the kernel prints fully expanded, the parser compresses (RFC 5952)', () => {
    const entries = fixture('ipv6');
    expect(entries.map((e) => [e.printed, e.address, e.family])).toEqual([
      ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '2001:db8:85a3::8a2e:370:7334', 6],
      ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1', 6],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1', 6],
      ['2001:0db8:0000:0001:0000:0000:ff00:0042', '2001:db8:0:1::ff00:42', 6],
    ]);
    const one = byAddress(entries, '2001:db8::1');
    expect(one.stamps).toEqual([4294973385, 4294973540, 4294973643]);
    expect(one.oldestPkt).toBe(3);
    expect(hitCount(one)).toBe(3);
  });

  it('mixed: one list holds both families', () => {
    const entries = fixture('mixed');
    expect(entries.map((e) => `${e.family} ${e.address}`)).toEqual(['6 2001:db8::20', '4 198.51.100.20', '6 2001:db8:ffff::20', '4 192.0.2.20']);
    expect(byAddress(entries, '192.0.2.20').stamps).toEqual([4294973695, 4294973900]);
  });

  it('wrapped: a 32-stamp ring, oldest_pkt is the next slot, stamps are in ring order not time order', () => {
    const [wrapped, single] = fixture('wrapped');
    expect(wrapped?.address).toBe('203.0.113.40');
    expect(wrapped?.oldestPkt).toBe(8);
    expect(hitCount(wrapped as RecentEntry)).toBe(32);
    const stamps = wrapped?.stamps ?? [];
    expect(stamps.slice(0, 8)).toEqual([4294974082, 4294974086, 4294974090, 4294974094, 4294974098, 4294974102, 4294974106, 4294974110]);
    expect(stamps[8]).toBe(4294973984);
    expect(stamps[31]).toBe(4294974078);
    // Not sorted as printed...
    expect([...stamps].sort((a, b) => a - b)).not.toEqual(stamps);
    // ...but in time order when read from oldest_pkt around the ring.
    const timeOrder = [...stamps.slice(8), ...stamps.slice(0, 8)];
    expect([...timeOrder].sort((a, b) => a - b)).toEqual(timeOrder);
    expect(newestStamp(wrapped as RecentEntry, 64)).toBe(4294974110);
    expect(newestStamp(wrapped as RecentEntry, 32)).toBe(4294974110);
    expect(wrapped?.lastSeen).toBe(4294974110);
    expect(single).toEqual({
      address: '203.0.113.41',
      printed: '203.0.113.41',
      family: 4,
      ttl: 0,
      lastSeen: 4294974111,
      oldestPkt: 1,
      stamps: [4294974111],
    });
  });

  it('empty: an existing list with no entries is an empty file', () => {
    expect(readFileSync(`${LISTS}empty`, 'latin1')).toBe('');
    expect(fixture('empty')).toEqual([]);
  });

  it('full: 150 addresses written, the kernel kept the last 100 (203.0.113.51-150)', () => {
    const entries = fixture('full');
    expect(entries).toHaveLength(100);
    const kept = entries.map((e) => Number(e.address.split('.')[3])).sort((a, b) => a - b);
    expect(kept).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i));
    expect(entries.every((e) => e.stamps.length === 1 && e.oldestPkt === 1 && e.ttl === 0)).toBe(true);
  });

  it('last_seen is always the stamp in ring slot oldest_pkt - 1', () => {
    for (const name of ['ipv4', 'ipv6', 'mixed', 'wrapped', 'full']) {
      for (const entry of fixture(name)) {
        expect(entry.stamps[entry.oldestPkt - 1], `${name} ${entry.address}`).toBe(entry.lastSeen);
        expect(newestStamp(entry, 64), `${name} ${entry.address}`).toBe(entry.lastSeen);
      }
    }
  });
});

describe('parseRecentList edge cases', () => {
  it('empty text is an empty list', () => {
    expect(parseRecentList('')).toEqual([]);
  });

  it('compresses like ipaddr.js toRFC5952String for many expanded addresses', () => {
    let seed = 12345;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    let lines = '';
    const expected: string[] = [];
    for (let n = 0; n < 2000; n++) {
      const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? next() % 65536 : 0));
      const printed = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
      lines += `src=${printed} ttl: 0 last_seen: 7 oldest_pkt: 1 7\n`;
      expected.push(ipaddr.IPv6.parse(printed).toRFC5952String());
    }
    expect(parseRecentList(lines).map((e) => e.address)).toEqual(expected);
  });

  it('accepts non-expanded IPv6 too (canonicalised the same way)', () => {
    const [entry] = parseRecentList('src=2001:DB8::0:1 ttl: 64 last_seen: 9 oldest_pkt: 1 9\n');
    expect(entry?.address).toBe('2001:db8::1');
    expect(entry?.printed).toBe('2001:DB8::0:1');
    expect(entry?.ttl).toBe(64);
  });

  it('keeps 64-bit jiffies above 2^32 exactly', () => {
    const [entry] = parseRecentList('src=192.0.2.5 ttl: 0 last_seen: 9007199254740991 oldest_pkt: 1 9007199254740991\n');
    expect(entry?.lastSeen).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('parses 100,000 entries of both families exactly', () => {
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const j = 4294970000 + i;
      lines.push(
        i % 2 === 0
          ? `src=198.51.${(i >> 8) & 255}.${i & 255} ttl: 0 last_seen: ${j + 2} oldest_pkt: 3 ${j}, ${j + 1}, ${j + 2}`
          : `src=2001:0db8:0000:0000:0000:0000:${(i >> 8).toString(16).padStart(4, '0')}:${(i & 255).toString(16).padStart(4, '0')} ttl: 0 last_seen: ${j} oldest_pkt: 1 ${j}`,
      );
    }
    // join() gives one flat string, as reading a file does (a `${...}\n` template would give a rope).
    lines.push('');
    const text = lines.join('\n');
    // Speed is measured by the benchmarks, not here: this checks that a list this long parses exactly.
    const entries: RecentEntry[] = parseRecentList(text);
    expect(entries).toHaveLength(100_000);
    expect(entries[0]).toEqual({
      address: '198.51.0.0',
      printed: '198.51.0.0',
      family: 4,
      ttl: 0,
      lastSeen: 4294970002,
      oldestPkt: 3,
      stamps: [4294970000, 4294970001, 4294970002],
    });
    expect(entries[99_999]?.address).toBe('2001:db8::186:9f');
    expect(entries[99_999]?.stamps).toEqual([4294970000 + 99_999]);
  });
});

describe('parseRecentList rejects bad input with source, line number and line', () => {
  const good = 'src=192.0.2.1 ttl: 0 last_seen: 4294973282 oldest_pkt: 2 4294973079, 4294973282';

  it('a garbage line names the file, line 2 and the line', () => {
    const error = thrown(() => parseRecentList(`${good}\nhello world\n${good}\n`, '/proc/net/xt_recent/ssh'));
    expect(error.exitCode).toBe(ExitCode.system);
    expect(error.message).toBe('/proc/net/xt_recent/ssh:2: malformed xt_recent line: "hello world"');
    expect(error.hint).toMatch(/truncated/);
  });

  it('uses a default source name', () => {
    expect(thrown(() => parseRecentList('junk\n')).message).toBe('xt_recent list:1: malformed xt_recent line: "junk"');
  });

  it('a line cut short by a read (no final newline) is truncated, even when it still looks valid', () => {
    const error = thrown(() => parseRecentList(`${good}\nsrc=192.0.2.2 ttl: 0 last_seen: 4294973282 oldest_pkt: 2 4294973079, 42949`, 'f'));
    expect(error.exitCode).toBe(ExitCode.system);
    expect(error.message).toBe('f:2: truncated line (no newline at the end): "src=192.0.2.2 ttl: 0 last_seen: 4294973282 oldest_pkt: 2 4294973079, 42949"');
  });

  it('a line truncated mid-field', () => {
    expect(thrown(() => parseRecentList(`${good}\n${good}\nsrc=192.0.2.3 ttl: 0 last_s\n`, 'f')).message).toBe(
      'f:3: malformed xt_recent line: "src=192.0.2.3 ttl: 0 last_s"',
    );
  });

  it('an entry without stamps', () => {
    expect(thrown(() => parseRecentList('src=192.0.2.1 ttl: 0 last_seen: 5 oldest_pkt: 1\n', 'f')).message).toMatch(/^f:1: malformed/);
  });

  it('non-numeric stamps', () => {
    expect(thrown(() => parseRecentList(`${good}\nsrc=192.0.2.1 ttl: 0 last_seen: 5 oldest_pkt: 2 5, abc\n`, 'f')).message).toBe(
      'f:2: malformed xt_recent line: "src=192.0.2.1 ttl: 0 last_seen: 5 oldest_pkt: 2 5, abc"',
    );
    expect(thrown(() => parseRecentList('src=192.0.2.1 ttl: 0 last_seen: 5 oldest_pkt: 2 5,6\n', 'f')).message).toMatch(/^f:1: malformed/);
    expect(thrown(() => parseRecentList('src=192.0.2.1 ttl: 0 last_seen: -5 oldest_pkt: 1 5\n', 'f')).message).toMatch(/^f:1: malformed/);
  });

  it('stamps beyond 2^53 cannot be represented exactly', () => {
    expect(thrown(() => parseRecentList('src=192.0.2.1 ttl: 0 last_seen: 5 oldest_pkt: 2 5, 18446744073709551615\n', 'f')).message).toMatch(
      /^f:1: jiffies value out of range \(above 2\^53\): /,
    );
  });

  it('invalid addresses', () => {
    for (const address of ['192.0.2.256', '192.0.2', '192.0.02.1', '2001:db8::g1', '1:2', '2001:0db8:0000:0000:0000:0000:0000:0001:0002']) {
      const error = thrown(() => parseRecentList(`src=${address} ttl: 0 last_seen: 5 oldest_pkt: 1 5\n`, 'f'));
      expect(error.message, address).toMatch(/^f:1: (invalid address|malformed)/);
    }
  });

  it('ttl above 255', () => {
    expect(thrown(() => parseRecentList('src=192.0.2.1 ttl: 256 last_seen: 5 oldest_pkt: 1 5\n', 'f')).message).toMatch(/^f:1: ttl 256 is out of range/);
  });

  it('blank lines, CRLF and extra fields', () => {
    expect(thrown(() => parseRecentList(`${good}\n\n${good}\n`, 'f')).message).toBe('f:2: malformed xt_recent line: ""');
    expect(thrown(() => parseRecentList(`${good}\r\n`, 'f')).message).toMatch(/^f:1: malformed/);
    expect(thrown(() => parseRecentList(`${good} extra\n`, 'f')).message).toMatch(/^f:1: malformed/);
    expect(thrown(() => parseRecentList(` ${good}\n`, 'f')).message).toMatch(/^f:1: malformed/);
  });

  it('long garbage is cut in the message', () => {
    const error = thrown(() => parseRecentList(`${'x'.repeat(10_000)}\n`, 'f'));
    expect(error.message.length).toBeLessThan(250);
  });
});

describe('hitCount and newestStamp', () => {
  const entry = (stamps: number[], oldestPkt: number): RecentEntry => ({
    address: '192.0.2.1',
    printed: '192.0.2.1',
    family: 4,
    ttl: 0,
    lastSeen: stamps[oldestPkt - 1] ?? 0,
    oldestPkt,
    stamps,
  });

  it('counts stamps', () => {
    expect(hitCount(entry([1], 1))).toBe(1);
    expect(hitCount(entry([1, 2, 3, 4], 2))).toBe(4);
  });

  it('compares modulo 2^32 on 32-bit kernels, where jiffies wrapped between stamps', () => {
    const wrapped = entry([4294967290, 5, 4294967295], 2);
    expect(newestStamp(wrapped, 32)).toBe(5);
    expect(newestStamp(wrapped, 64)).toBe(4294967295);
  });

  it('finds the newest anywhere in the ring', () => {
    expect(newestStamp(entry([10, 40, 20, 30], 2), 64)).toBe(40);
    expect(newestStamp(entry([10, 20, 30, 40], 4), 64)).toBe(40);
    expect(newestStamp(entry([50, 20, 30, 40], 1), 32)).toBe(50);
  });
});
