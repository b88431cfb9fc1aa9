// Parser for /proc/net/xt_recent/<list>: pure, no I/O.
//
// The kernel prints each entry (recent_seq_show) as
//   src=%pI4|%pI6 ttl: %u last_seen: %lu oldest_pkt: %u J1, J2, ...\n
// where oldest_pkt is the ring slot the next stamp goes to (e->index), stamps are jiffies in ring order
// (not time order once the ring has wrapped), last_seen is the stamp in slot oldest_pkt - 1, and IPv6
// addresses are printed fully expanded (2001:0db8:0000:...:0001).

import ipaddr from 'ipaddr.js';
import { ExitCode, XtbanError } from './errors.js';

// One entry of a kernel list, as printed and in canonical form.
export interface RecentEntry {
  /** canonical: IPv4 dotted, IPv6 compressed (RFC 5952, as ipaddr.js toRFC5952String) */
  address: string;
  /** exactly as the kernel printed it */
  printed: string;
  family: 4 | 6;
  /** TTL of the packet that last set or updated the entry; 0 for entries written through /proc */
  ttl: number;
  /** jiffies */
  lastSeen: number;
  /** ring index, not a time */
  oldestPkt: number;
  /** jiffies, in ring order as printed */
  stamps: number[];
}

// How it stays fast (100,000 entries in about 50 ms on a slow 2-vCPU VM, most of it allocating results):
// one sticky regex validates each line in place (no captures, no line substrings), then the fields are read
// with charCodeAt at positions the regex has vouched for; stamp arrays get their exact size; IPv6 group
// texts are interned.

// Anchored by the sticky flag at the line start and by `$` (multiline) at its '\n'. Every repetition is
// delimited by a fixed token, so matching is linear.
const LINE = /src=[0-9A-Fa-f:.]+ ttl: \d{1,3} last_seen: \d{1,20} oldest_pkt: \d{1,5} \d{1,20}(?:, \d{1,20})*$/my;

const C_0 = 48;
const C_9 = 57;
const C_DOT = 46;
const C_COLON = 58;
const C_SPACE = 32;
const C_COMMA = 44;
const MALFORMED = 'malformed xt_recent line';
const EXPANDED_V6_LENGTH = 39;

function shown(line: string): string {
  return JSON.stringify(line.length > 160 ? `${line.slice(0, 160)}...` : line);
}

function malformed(source: string, lineNumber: number, line: string, why: string): XtbanError {
  return new XtbanError(`${source}:${lineNumber}: ${why}: ${shown(line)}`, {
    exitCode: ExitCode.system,
    hint: 'expected "src=ADDR ttl: T last_seen: J oldest_pkt: I J1, J2, ..." per line; was the file truncated or is it not an xt_recent list?',
  });
}

// Hex text of each 16-bit group value seen so far ("db8", "0"), so compressing an address allocates little
// more than its result. At most 65,536 short strings; the table is created on the first IPv6 entry.
let groupHex: Array<string | undefined> | undefined;

function hexOf(value: number): string {
  groupHex ??= new Array<string | undefined>(65536);
  const table = groupHex;
  let text = table[value];
  if (text === undefined) {
    text = value.toString(16);
    table[value] = text;
  }
  return text;
}

const groupValues = new Int32Array(8);

function groupText(index: number): string {
  return hexOf(groupValues[index] ?? 0);
}

// RFC 5952 for the kernel's fully expanded form at text[at, at + 39): 8 groups of 4 lower-case hex digits.
// Same output as ipaddr.js toRFC5952String; undefined if the text is not in that exact form.
function compressExpanded(text: string, at: number): string | undefined {
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let group = 0; group < 8; group++) {
    const from = at + group * 5;
    if (group > 0 && text.charCodeAt(from - 1) !== C_COLON) return undefined;
    let value = 0;
    for (let k = from; k < from + 4; k++) {
      const c = text.charCodeAt(k);
      if (c >= C_0 && c <= C_9) value = value * 16 + (c - C_0);
      else if (c >= 97 && c <= 102) value = value * 16 + (c - 87);
      else return undefined;
    }
    groupValues[group] = value;
    if (value !== 0) {
      runStart = -1;
      continue;
    }
    if (runStart === -1) runStart = group;
    // Strictly longer: the first of equally long runs is compressed; a single zero group is not.
    if (group - runStart + 1 > bestLength) {
      bestLength = group - runStart + 1;
      bestStart = runStart;
    }
  }
  const g = groupText;
  if (bestStart === -1) return `${g(0)}:${g(1)}:${g(2)}:${g(3)}:${g(4)}:${g(5)}:${g(6)}:${g(7)}`;
  let head = '';
  for (let group = 0; group < bestStart; group++) head = group === 0 ? g(0) : `${head}:${g(group)}`;
  let tail = '';
  const tailStart = bestStart + bestLength;
  for (let group = tailStart; group < 8; group++) tail = group === tailStart ? g(group) : `${tail}:${g(group)}`;
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
  LINE.lastIndex = start;
  // `$` also matches before '\r', U+2028 and U+2029: the match must end exactly at the '\n'.
  if (!LINE.test(text) || LINE.lastIndex !== end) return MALFORMED;

  // From here on the shape is known: each field ends at a space, each stamp but the last at ", ".
  const addressStart = start + 4; // after "src="
  let pos = addressStart;
  let colon = false;
  let c = text.charCodeAt(pos);
  while (c !== C_SPACE) {
    if (c === C_COLON) colon = true;
    c = text.charCodeAt(++pos);
  }
  const addressEnd = pos;

  pos += 6; // " ttl: "
  let ttl = 0;
  for (c = text.charCodeAt(pos); c !== C_SPACE; c = text.charCodeAt(++pos)) ttl = ttl * 10 + (c - C_0);

  pos += 12; // " last_seen: "
  let lastSeen = 0;
  for (c = text.charCodeAt(pos); c !== C_SPACE; c = text.charCodeAt(++pos)) lastSeen = lastSeen * 10 + (c - C_0);

  pos += 13; // " oldest_pkt: "
  let oldestPkt = 0;
  for (c = text.charCodeAt(pos); c !== C_SPACE; c = text.charCodeAt(++pos)) oldestPkt = oldestPkt * 10 + (c - C_0);
  pos += 1;

  let count = 1;
  for (let i = pos; i < end; i++) if (text.charCodeAt(i) === C_COMMA) count++;
  const stamps = new Array<number>(count);
  let largest = lastSeen;
  for (let index = 0; index < count; index++) {
    let stamp = 0;
    for (c = text.charCodeAt(pos); c >= C_0 && c <= C_9; c = text.charCodeAt(++pos)) stamp = stamp * 10 + (c - C_0);
    if (stamp > largest) largest = stamp;
    stamps[index] = stamp;
    pos += 2; // ", "
  }

  const printed = text.slice(addressStart, addressEnd);
  let address: string | undefined;
  if (!colon) {
    if (isDottedQuad(printed)) address = printed;
  } else {
    if (addressEnd - addressStart === EXPANDED_V6_LENGTH) address = compressExpanded(text, addressStart);
    // Not the kernel's expanded form (another kernel, a hand-made file): the general parser decides.
    if (address === undefined && ipaddr.IPv6.isValid(printed)) address = ipaddr.IPv6.parse(printed).toRFC5952String();
  }
  if (address === undefined) return `invalid address ${JSON.stringify(printed)}`;
  if (ttl > 255) return `ttl ${ttl} is out of range`;
  if (largest > Number.MAX_SAFE_INTEGER) return 'jiffies value out of range (above 2^53)';
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

// How many stamps the entry holds (at most the list's ring size, 32 by default on current kernels).
export function hitCount(entry: RecentEntry): number {
  return entry.stamps.length;
}
