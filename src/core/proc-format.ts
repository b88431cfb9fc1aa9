// Parser for /proc/net/xt_recent/<list>: pure, one linear scan per line, no I/O.
//
// The kernel prints each entry (recent_seq_show) as
//   src=%pI4|%pI6 ttl: %u last_seen: %lu oldest_pkt: %u J1, J2, ...\n
// where oldest_pkt is the ring index of the next write (e->index), stamps are jiffies in ring order
// (not time order once the ring has wrapped), last_seen is the stamp at ring index oldest_pkt - 1,
// and IPv6 addresses are fully expanded (2001:0db8:0000:...:0001).

import ipaddr from 'ipaddr.js';
import { ExitCode, XtbanError } from './errors.js';
import { timeAfter } from './jiffies.js';
import type { WordBits } from './jiffies.js';

// One entry of a kernel list, as printed and in canonical form.
export interface RecentEntry {
  /** canonical: IPv4 dotted, IPv6 compressed (RFC 5952, as ipaddr.js toRFC5952String) */
  address: string;
  /** exactly as the kernel printed it */
  printed: string;
  family: 4 | 6;
  /** TTL of the last packet that set or updated the entry; 0 for entries written through /proc */
  ttl: number;
  /** jiffies */
  lastSeen: number;
  /** ring index, not a time */
  oldestPkt: number;
  /** jiffies, in ring order as printed */
  stamps: number[];
}

// A hand-written scanner, one pass per line with charCodeAt: no regex captures, no substrings except the
// address, numbers accumulated in place. About 10x faster than a regex and Number() per field.

const C_0 = 48;
const C_9 = 57;
const C_DOT = 46;
const C_COLON = 58;
const C_SPACE = 32;
const C_COMMA = 44;

function isHex(c: number): boolean {
  return (c >= C_0 && c <= C_9) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function hexValue(c: number): number {
  return c <= C_9 ? c - C_0 : (c | 0x20) - 87;
}

// Why a line was refused.
interface Failure {
  why: string;
}

function shown(line: string): string {
  return JSON.stringify(line.length > 160 ? `${line.slice(0, 160)}...` : line);
}

function malformed(source: string, lineNumber: number, line: string, why: string): XtbanError {
  return new XtbanError(`${source}:${lineNumber}: ${why}: ${shown(line)}`, {
    exitCode: ExitCode.system,
    hint: 'expected "src=ADDR ttl: T last_seen: J oldest_pkt: I J1, J2, ..." per line; was the file truncated or is it not an xt_recent list?',
  });
}

class Scanner {
  readonly line: string;
  pos = 0;
  constructor(line: string) {
    this.line = line;
  }

  literal(text: string): boolean {
    if (!this.line.startsWith(text, this.pos)) return false;
    this.pos += text.length;
    return true;
  }

  // Unsigned decimal of 1..maxDigits digits; -1 if none, -2 if beyond 2^53 (not exactly representable).
  number(maxDigits: number): number {
    const { line } = this;
    const start = this.pos;
    let value = 0;
    let c = line.charCodeAt(this.pos);
    while (c >= C_0 && c <= C_9) {
      value = value * 10 + (c - C_0);
      c = line.charCodeAt(++this.pos);
    }
    const digits = this.pos - start;
    if (digits === 0 || digits > maxDigits) return -1;
    return value > Number.MAX_SAFE_INTEGER ? -2 : value;
  }
}

// RFC 5952 for the kernel's fully expanded form (8 groups of 4 lower-case hex digits): the same output as
// ipaddr.js toRFC5952String, without a general-purpose parse. Undefined if the text is not in that form.
function compressExpanded(text: string): string | undefined {
  if (text.length !== 39) return undefined;
  const groups = new Array<string>(8);
  let bestStart = -1;
  let bestLength = 0;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    const at = i * 5;
    if (i > 0 && text.charCodeAt(at - 1) !== C_COLON) return undefined;
    let value = 0;
    for (let k = at; k < at + 4; k++) {
      const c = text.charCodeAt(k);
      if (!((c >= C_0 && c <= C_9) || (c >= 97 && c <= 102))) return undefined;
      value = value * 16 + hexValue(c);
    }
    groups[i] = value.toString(16);
    if (value === 0) {
      if (runStart === -1) runStart = i;
      if (i - runStart + 1 > bestLength) {
        bestLength = i - runStart + 1;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestLength < 2) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

// %pI4 prints four decimal octets without leading zeros.
function isDottedQuad(text: string): boolean {
  let parts = 0;
  let value = 0;
  let digits = 0;
  let first = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : C_DOT;
    if (c === C_DOT) {
      if (digits === 0 || value > 255 || (digits > 1 && first === C_0)) return false;
      parts++;
      value = 0;
      digits = 0;
    } else if (c >= C_0 && c <= C_9) {
      if (digits === 0) first = c;
      value = value * 10 + (c - C_0);
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return parts === 4;
}

function canonicalAddress(printed: string): { address: string; family: 4 | 6 } | undefined {
  if (printed.includes(':')) {
    const fast = compressExpanded(printed);
    if (fast !== undefined) return { address: fast, family: 6 };
    if (!ipaddr.IPv6.isValid(printed)) return undefined;
    return { address: ipaddr.IPv6.parse(printed).toRFC5952String(), family: 6 };
  }
  return isDottedQuad(printed) ? { address: printed, family: 4 } : undefined;
}

const MALFORMED = 'malformed xt_recent line';

function parseLine(line: string): RecentEntry | Failure {
  const scan = new Scanner(line);
  if (!scan.literal('src=')) return { why: MALFORMED };
  const addressStart = scan.pos;
  let c = line.charCodeAt(scan.pos);
  while (isHex(c) || c === C_COLON || c === C_DOT) c = line.charCodeAt(++scan.pos);
  if (scan.pos === addressStart || c !== C_SPACE) return { why: MALFORMED };
  const printed = line.slice(addressStart, scan.pos);
  if (!scan.literal(' ttl: ')) return { why: MALFORMED };
  const ttl = scan.number(3);
  if (ttl < 0 || !scan.literal(' last_seen: ')) return { why: MALFORMED };
  const lastSeen = scan.number(20);
  if (lastSeen === -1 || !scan.literal(' oldest_pkt: ')) return { why: MALFORMED };
  const oldestPkt = scan.number(5);
  if (oldestPkt < 0 || !scan.literal(' ')) return { why: MALFORMED };
  const stamps: number[] = [];
  let outOfRange = lastSeen === -2;
  for (;;) {
    const stamp = scan.number(20);
    if (stamp === -1) return { why: MALFORMED };
    if (stamp === -2) outOfRange = true;
    stamps.push(stamp);
    if (scan.pos === line.length) break;
    if (line.charCodeAt(scan.pos) !== C_COMMA || line.charCodeAt(scan.pos + 1) !== C_SPACE) return { why: MALFORMED };
    scan.pos += 2;
  }
  const canonical = canonicalAddress(printed);
  if (canonical === undefined) return { why: `invalid address ${JSON.stringify(printed)}` };
  if (ttl > 255) return { why: `ttl ${ttl} is out of range` };
  if (outOfRange) return { why: 'jiffies value out of range' };
  return { address: canonical.address, printed, family: canonical.family, ttl, lastSeen, oldestPkt, stamps };
}

// Parses a whole list file; throws an XtbanError (exit code system) naming source, line number and line.
export function parseRecentList(text: string, source = 'xt_recent list'): RecentEntry[] {
  if (text.length === 0) return [];
  const entries: RecentEntry[] = [];
  let start = 0;
  let lineNumber = 0;
  while (start < text.length) {
    lineNumber++;
    const end = text.indexOf('\n', start);
    if (end === -1) {
      // The kernel ends every line with a newline: a missing one means the read stopped mid-line.
      throw malformed(source, lineNumber, text.slice(start), 'truncated line (no newline at the end)');
    }
    const line = text.slice(start, end);
    const parsed = parseLine(line);
    if ('why' in parsed) throw malformed(source, lineNumber, line, parsed.why);
    entries.push(parsed);
    start = end + 1;
  }
  return entries;
}

// How many stamps the entry holds (capped by the ring size, 32 by default on current kernels).
export function hitCount(entry: RecentEntry): number {
  return entry.stamps.length;
}

// The latest stamp, compared as the kernel does (time_after, modulo 2^32 on 32-bit kernels).
export function newestStamp(entry: RecentEntry, wordBits: WordBits): number {
  const { stamps } = entry;
  let newest = stamps[0] ?? entry.lastSeen;
  for (let i = 1; i < stamps.length; i++) {
    const stamp = stamps[i] ?? newest;
    if (timeAfter(stamp, newest, wordBits)) newest = stamp;
  }
  return newest;
}
