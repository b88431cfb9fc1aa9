// Parser for /proc/net/xt_recent/<list>: pure, one anchored regex per line, no I/O.
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

// Anchored, no nested ambiguity: every quantified group is delimited by a fixed token, so matching is linear.
const LINE =
  /^src=([0-9A-Fa-f:.]+) ttl: (\d{1,3}) last_seen: (\d{1,20}) oldest_pkt: (\d{1,5}) (\d{1,20}(?:, \d{1,20})*)$/;
const EXPANDED_V6 = /^[0-9a-f]{4}(?::[0-9a-f]{4}){7}$/;
const DOTTED_V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function shown(line: string): string {
  return JSON.stringify(line.length > 160 ? `${line.slice(0, 160)}...` : line);
}

function malformed(source: string, lineNumber: number, line: string, why: string): XtbanError {
  return new XtbanError(`${source}:${lineNumber}: ${why}: ${shown(line)}`, {
    exitCode: ExitCode.system,
    hint: 'expected "src=ADDR ttl: T last_seen: J oldest_pkt: I J1, J2, ..." per line; was the file truncated or is it not an xt_recent list?',
  });
}

function toInteger(digits: string): number | undefined {
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : undefined;
}

// RFC 5952 for the kernel's fully expanded form, without a general-purpose parse: same output as ipaddr.js.
function compressExpanded(text: string): string {
  const groups: string[] = new Array<string>(8);
  let bestStart = -1;
  let bestLength = 0;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    const group = parseInt(text.slice(i * 5, i * 5 + 4), 16);
    groups[i] = group.toString(16);
    if (group === 0) {
      if (runStart === -1) runStart = i;
      const length = i - runStart + 1;
      if (length > bestLength) {
        bestLength = length;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestLength < 2) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

function canonicalAddress(printed: string): { address: string; family: 4 | 6 } | undefined {
  if (printed.includes(':')) {
    if (EXPANDED_V6.test(printed)) return { address: compressExpanded(printed), family: 6 };
    if (!ipaddr.IPv6.isValid(printed)) return undefined;
    return { address: ipaddr.IPv6.parse(printed).toRFC5952String(), family: 6 };
  }
  const m = DOTTED_V4.exec(printed);
  if (m === null) return undefined;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] ?? '';
    if (Number(part) > 255 || (part.length > 1 && part.startsWith('0'))) return undefined;
  }
  return { address: printed, family: 4 };
}

function parseStamps(list: string): number[] | undefined {
  const parts = list.split(', ');
  const stamps = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const value = toInteger(parts[i] ?? '');
    if (value === undefined) return undefined;
    stamps[i] = value;
  }
  return stamps;
}

// Parses a whole list file; throws an XtbanError (exit code system) naming source, line number and line.
export function parseRecentList(text: string, source = 'xt_recent list'): RecentEntry[] {
  if (text.length === 0) return [];
  const lines = text.split('\n');
  const last = lines.pop();
  if (last !== '') {
    // The kernel ends every line with a newline: a missing one means the read stopped mid-line.
    throw malformed(source, lines.length + 1, last ?? '', 'truncated line (no newline at the end)');
  }
  const entries = new Array<RecentEntry>(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const lineNumber = i + 1;
    const m = LINE.exec(line);
    if (m === null) throw malformed(source, lineNumber, line, 'malformed xt_recent line');
    const printed = m[1] ?? '';
    const canonical = canonicalAddress(printed);
    if (canonical === undefined) throw malformed(source, lineNumber, line, `invalid address ${JSON.stringify(printed)}`);
    const ttl = Number(m[2]);
    if (ttl > 255) throw malformed(source, lineNumber, line, `ttl ${ttl} is out of range`);
    const lastSeen = toInteger(m[3] ?? '');
    const stamps = parseStamps(m[5] ?? '');
    if (lastSeen === undefined || stamps === undefined) {
      throw malformed(source, lineNumber, line, 'jiffies value out of range');
    }
    entries[i] = {
      address: canonical.address,
      printed,
      family: canonical.family,
      ttl,
      lastSeen,
      oldestPkt: Number(m[4]),
      stamps,
    };
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
