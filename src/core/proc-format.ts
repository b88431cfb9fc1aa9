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

// A hand-written scanner over the whole text with charCodeAt: no regex, no per-line substrings except the
// address, numbers accumulated in place, stamp arrays allocated at their exact size. Most of the cost of
// parsing 100,000 entries is allocating the results, so the parser allocates little else.

const C_0 = 48;
const C_9 = 57;
const C_DOT = 46;
const C_COLON = 58;
const C_SPACE = 32;
const C_COMMA = 44;
const MALFORMED = 'malformed xt_recent line';

function shown(line: string): string {
  return JSON.stringify(line.length > 160 ? `${line.slice(0, 160)}...` : line);
}

function malformed(source: string, lineNumber: number, line: string, why: string): XtbanError {
  return new XtbanError(`${source}:${lineNumber}: ${why}: ${shown(line)}`, {
    exitCode: ExitCode.system,
    hint: 'expected "src=ADDR ttl: T last_seen: J oldest_pkt: I J1, J2, ..." per line; was the file truncated or is it not an xt_recent list?',
  });
}

function isAddressChar(c: number): boolean {
  return (c >= C_0 && c <= C_9) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === C_COLON || c === C_DOT;
}

// True when text has `literal` at pos. A line's closing '\n' never matches, so this cannot run into the next line.
function hasLiteral(text: string, pos: number, literal: string): boolean {
  for (let i = 0; i < literal.length; i++) {
    if (text.charCodeAt(pos + i) !== literal.charCodeAt(i)) return false;
  }
  return true;
}

// Hex text of every 16-bit group value seen so far ("db8", "0"): interned, so compressing an address
// allocates only its result. At most 65,536 short strings; created on the first IPv6 entry.
let groupHex: string[] | undefined;
const groups = new Array<string>(8);

// RFC 5952 for the kernel's fully expanded form (8 groups of 4 lower-case hex digits): the same output as
// ipaddr.js toRFC5952String without a general-purpose parse. Undefined if the text is not in that form.
function compressExpanded(text: string): string | undefined {
  if (text.length !== 39) return undefined;
  const hex = (groupHex ??= new Array<string>(65536));
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let group = 0; group < 8; group++) {
    const at = group * 5;
    if (group > 0 && text.charCodeAt(at - 1) !== C_COLON) return undefined;
    let value = 0;
    for (let k = at; k < at + 4; k++) {
      const c = text.charCodeAt(k);
      if (c >= C_0 && c <= C_9) value = value * 16 + (c - C_0);
      else if (c >= 97 && c <= 102) value = value * 16 + (c - 87);
      else return undefined;
    }
    let text16 = hex[value];
    if (text16 === undefined) {
      text16 = value.toString(16);
      hex[value] = text16;
    }
    groups[group] = text16;
    if (value !== 0) {
      runStart = -1;
      continue;
    }
    if (runStart === -1) runStart = group;
    // Strictly longer: the first of equally long runs is compressed; runs of one group are not.
    if (group - runStart + 1 > bestLength) {
      bestLength = group - runStart + 1;
      bestStart = runStart;
    }
  }
  if (bestStart === -1) {
    return `${groups[0]}:${groups[1]}:${groups[2]}:${groups[3]}:${groups[4]}:${groups[5]}:${groups[6]}:${groups[7]}`;
  }
  let head = '';
  for (let group = 0; group < bestStart; group++) head = group === 0 ? (groups[0] ?? '') : `${head}:${groups[group]}`;
  let tail = '';
  const tailStart = bestStart + bestLength;
  for (let group = tailStart; group < 8; group++) tail = group === tailStart ? (groups[group] ?? '') : `${tail}:${groups[group]}`;
  return `${head}::${tail}`;
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

// Parses the line text[start, end) (end is its '\n'); returns the reason as a string when it is not an entry.
function parseLine(text: string, start: number, end: number): RecentEntry | string {
  if (!hasLiteral(text, start, 'src=')) return MALFORMED;
  let pos = start + 4;
  let colon = false;
  let c = text.charCodeAt(pos);
  while (isAddressChar(c)) {
    if (c === C_COLON) colon = true;
    c = text.charCodeAt(++pos);
  }
  if (pos === start + 4 || !hasLiteral(text, pos, ' ttl: ')) return MALFORMED;
  const printed = text.slice(start + 4, pos);
  pos += 6;

  // Four unsigned decimals follow the same pattern; each loop stops at the first non-digit.
  let digitsFrom = pos;
  let ttl = 0;
  c = text.charCodeAt(pos);
  while (c >= C_0 && c <= C_9) {
    ttl = ttl * 10 + (c - C_0);
    c = text.charCodeAt(++pos);
  }
  if (pos === digitsFrom || pos - digitsFrom > 3 || !hasLiteral(text, pos, ' last_seen: ')) return MALFORMED;
  pos += 12;

  digitsFrom = pos;
  let lastSeen = 0;
  c = text.charCodeAt(pos);
  while (c >= C_0 && c <= C_9) {
    lastSeen = lastSeen * 10 + (c - C_0);
    c = text.charCodeAt(++pos);
  }
  if (pos === digitsFrom || pos - digitsFrom > 20 || !hasLiteral(text, pos, ' oldest_pkt: ')) return MALFORMED;
  pos += 13;

  digitsFrom = pos;
  let oldestPkt = 0;
  c = text.charCodeAt(pos);
  while (c >= C_0 && c <= C_9) {
    oldestPkt = oldestPkt * 10 + (c - C_0);
    c = text.charCodeAt(++pos);
  }
  if (pos === digitsFrom || pos - digitsFrom > 5 || c !== C_SPACE) return MALFORMED;
  pos += 1;

  let count = 1;
  for (let i = pos; i < end; i++) if (text.charCodeAt(i) === C_COMMA) count++;
  const stamps = new Array<number>(count);
  let outOfRange = lastSeen > Number.MAX_SAFE_INTEGER;
  for (let index = 0; ; index++) {
    digitsFrom = pos;
    let stamp = 0;
    c = text.charCodeAt(pos);
    while (c >= C_0 && c <= C_9) {
      stamp = stamp * 10 + (c - C_0);
      c = text.charCodeAt(++pos);
    }
    if (pos === digitsFrom || pos - digitsFrom > 20 || index >= count) return MALFORMED;
    if (stamp > Number.MAX_SAFE_INTEGER) outOfRange = true;
    stamps[index] = stamp;
    if (pos === end) {
      if (index !== count - 1) return MALFORMED;
      break;
    }
    if (c !== C_COMMA || text.charCodeAt(pos + 1) !== C_SPACE) return MALFORMED;
    pos += 2;
  }

  let address: string | undefined;
  if (colon) {
    address = compressExpanded(printed);
    if (address === undefined && ipaddr.IPv6.isValid(printed)) address = ipaddr.IPv6.parse(printed).toRFC5952String();
  } else if (isDottedQuad(printed)) {
    address = printed;
  }
  if (address === undefined) return `invalid address ${JSON.stringify(printed)}`;
  if (ttl > 255) return `ttl ${ttl} is out of range`;
  if (outOfRange) return 'jiffies value out of range';
  return { address, printed, family: colon ? 6 : 4, ttl, lastSeen, oldestPkt, stamps };
}

// Parses a whole list file; throws an XtbanError (exit code system) naming source, line number and line.
export function parseRecentList(text: string, source = 'xt_recent list'): RecentEntry[] {
  const entries: RecentEntry[] = [];
  const length = text.length;
  let start = 0;
  let lineNumber = 0;
  while (start < length) {
    lineNumber++;
    const end = text.indexOf('\n', start);
    if (end === -1) {
      // The kernel ends every line with a newline: a missing one means the read stopped mid-line.
      throw malformed(source, lineNumber, text.slice(start), 'truncated line (no newline at the end)');
    }
    const entry = parseLine(text, start, end);
    if (typeof entry === 'string') throw malformed(source, lineNumber, text.slice(start, end), entry);
    entries.push(entry);
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
