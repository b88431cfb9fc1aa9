// One log line split into what filters need: when, which program, and the message it wrote.
export interface LogRecord {
  // ms since the epoch, or undefined when the line carries no time xtban can read.
  timeMs: number | undefined;
  // The program's syslog identifier; undefined for a line of the daemon's own log file.
  program: string | undefined;
  // The writing process, when the line says: the lines of one connection share it (sshd's).
  pid: number | undefined;
  message: string;
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
// "2026-11-21T02:33:32.123456+00:00 host prog[123]: message" (rsyslog's high-precision format).
const ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) \S+ ([^\s[:]+)(?:\[(\d+)\])?: (.*)$/;

// Splits a syslog-file line. Traditional timestamps have no year: the year of `nowMs` is taken, and
// a date that would lie more than a day in the future belongs to the year before (a log read in January).
export function parseSyslogLine(line: string, nowMs: number): LogRecord | undefined {
  const first = line.charCodeAt(0);
  if (first >= 48 && first <= 57) {
    const iso = ISO.exec(line);
    return iso ? { timeMs: Date.parse(iso[1] ?? ''), program: iso[2], pid: pidOf(iso[3]), message: iso[4] ?? '' } : undefined;
  }
  const old = traditionalLine(line);
  if (!old) return undefined;
  const year = yearOf(nowMs);
  let timeMs = traditionalTime(line, old.stampEnd, year);
  if (timeMs > nowMs + 86_400_000) timeMs = traditionalTime(line, old.stampEnd, year - 1);
  return { timeMs, program: old.program, pid: old.pid, message: old.message };
}

// Every record has the same four fields, pid undefined when the line names none: one object shape
// for the scan's hot loop.
function pidOf(text: string | undefined): number | undefined {
  return text === undefined ? undefined : Number(text);
}

// "Nov 21 02:33:32 host prog[123]: message" (RFC 3164, local time, no year), read by hand: a scan reads
// millions, and this is the regex
//   ^[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d \S*[^\s:] ([^\s[:]+)(?:\[(\d+)\])?: (.*)$
// (JavaScript's \s and '.') at a third of its cost. The host never ends in ':' (dovecot's own
// "Dec 03 02:33:32 imap-login: Info: ..." is no syslog line). stampEnd: where the seconds end.
function traditionalLine(line: string): { stampEnd: number; program: string; pid: number | undefined; message: string } | undefined {
  if (!isUpper(line.charCodeAt(0)) || !isLower(line.charCodeAt(1)) || !isLower(line.charCodeAt(2)) || line.charCodeAt(3) !== 32) return undefined;
  let at = line.charCodeAt(4) === 32 ? 5 : 4;
  if (!isDigit(line.charCodeAt(at))) return undefined;
  at += isDigit(line.charCodeAt(at + 1)) ? 2 : 1;
  if (line.charCodeAt(at) !== 32 || !twoDigits(line, at + 1) || line.charCodeAt(at + 3) !== 58 || !twoDigits(line, at + 4)) return undefined;
  if (line.charCodeAt(at + 6) !== 58 || !twoDigits(line, at + 7)) return undefined;
  const stampEnd = at + 9;
  if (line.charCodeAt(stampEnd) !== 32) return undefined;
  let end = stampEnd + 1;
  while (end < line.length && !isSpace(line.charCodeAt(end))) end++;
  if (end === stampEnd + 1 || line.charCodeAt(end) !== 32 || line.charCodeAt(end - 1) === 58) return undefined;
  const programStart = end + 1;
  end = programStart;
  for (let c = line.charCodeAt(end); end < line.length && c !== 91 && c !== 58 && !isSpace(c); c = line.charCodeAt(++end));
  if (end === programStart) return undefined;
  const program = line.slice(programStart, end);
  let pid: number | undefined;
  if (line.charCodeAt(end) === 91) {
    const digits = end + 1;
    end = digits;
    while (isDigit(line.charCodeAt(end))) end++;
    if (end === digits || line.charCodeAt(end) !== 93) return undefined;
    pid = Number(line.slice(digits, end));
    end++;
  }
  if (line.charCodeAt(end) !== 58 || line.charCodeAt(end + 1) !== 32) return undefined;
  const message = line.slice(end + 2);
  // What '.' does not match.
  if (hasLineTerminator(message)) return undefined;
  return { stampEnd, program, pid, message };
}

// Whether the text holds a line terminator (what '.' does not match): four searches, each a fast scan
// (and none at all for \u2028 and \u2029 in a one-byte string), against a regex over every character.
function hasLineTerminator(text: string, from = 0): boolean {
  return text.indexOf('\n', from) !== -1 || text.indexOf('\r', from) !== -1 || text.indexOf('\u2028', from) !== -1 || text.indexOf('\u2029', from) !== -1;
}

// Where the first line terminator at or after `from` is, or the text's length.
function lineTerminatorAt(text: string, from: number): number {
  let first = text.length;
  for (const terminator of ['\n', '\r', '\u2028', '\u2029']) {
    const at = text.indexOf(terminator, from);
    if (at !== -1 && at < first) first = at;
  }
  return first;
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function twoDigits(line: string, at: number): boolean {
  return isDigit(line.charCodeAt(at)) && isDigit(line.charCodeAt(at + 1));
}

// JavaScript's \s.
function isSpace(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

// Consecutive lines mostly share their second, and a scan reads millions: the local-time conversion of
// the last timestamp and the bounds of the current year are kept.
let lastStamp = { text: '', year: Number.NaN, ms: 0 };
let currentYear = { from: 0, to: -1, year: 0 };

function yearOf(nowMs: number): number {
  if (nowMs < currentYear.from || nowMs >= currentYear.to) {
    const year = new Date(nowMs).getFullYear();
    currentYear = { from: new Date(year, 0, 1).getTime(), to: new Date(year + 1, 0, 1).getTime(), year };
  }
  return currentYear.year;
}

// The time of a traditional timestamp, the line's first `stampEnd` characters ("Nov 21 02:33:32"), in `year`.
function traditionalTime(line: string, stampEnd: number, year: number): number {
  if (lastStamp.year === year && lastStamp.text.length === stampEnd && line.startsWith(lastStamp.text)) return lastStamp.ms;
  const text = line.slice(0, stampEnd);
  const number = (from: number, to: number) => Number(line.slice(from, to));
  const ms = new Date(
    year,
    MONTHS[text.slice(0, 3)] ?? 0,
    number(4, stampEnd - 9),
    number(stampEnd - 8, stampEnd - 6),
    number(stampEnd - 5, stampEnd - 3),
    number(stampEnd - 2, stampEnd),
  ).getTime();
  lastStamp = { text, year, ms };
  return ms;
}

// A journal entry as `journalctl -o json` prints it: the identifier and message fields.
export function parseJournalEntry(json: string): (LogRecord & { cursor: string | undefined }) | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  // journald gives a message as an array of bytes when it is not valid UTF-8 (or holds control
  // characters): decoded with replacement characters and matched all the same, so that a daemon that
  // logs raw bytes cannot hide from the filters.
  const raw = entry['MESSAGE'];
  const message = typeof raw === 'string' ? raw : byteMessage(raw);
  if (message === undefined) return undefined;
  const micros = Number(entry['__REALTIME_TIMESTAMP']);
  const program = entry['SYSLOG_IDENTIFIER'] ?? entry['_COMM'];
  const pid = Number(entry['SYSLOG_PID'] ?? entry['_PID']);
  return {
    timeMs: Number.isFinite(micros) ? Math.floor(micros / 1000) : undefined,
    // An entry names its program; one that names none is no daemon's own file line either.
    program: typeof program === 'string' ? program : '',
    pid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
    message,
    cursor: typeof entry['__CURSOR'] === 'string' ? (entry['__CURSOR'] as string) : undefined,
  };
}

// A journal field given as an array of byte values, as text; undefined for anything else.
function byteMessage(value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length > 65_536) return undefined;
  if (!value.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255)) return undefined;
  return Buffer.from(value as number[]).toString('utf8');
}

// nginx's error.log: "2026/12/03 06:14:01 [error] 8863#8863: *1 ..." (read by nginxTime: the message
// after the 20th character, with no line terminator in it).
// apache's error.log: "[Thu Dec 03 06:14:01.123456 2026] [auth_basic:error] ...".
const APACHE_ERROR = /^\[[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d+)? (\d{4})\] (.*)$/;
// vsftpd.log: "Thu Dec  3 06:14:01 2026 [pid 123] ...".
const VSFTPD = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}) (.*)$/;
// MariaDB's error log: "2026-12-03  6:14:01 5 [Warning] ..." (the hour is space-padded).
const MARIADB = /^(\d{4})-(\d\d)-(\d\d) {1,2}(\d{1,2}):(\d\d):(\d\d) (.*)$/;
// dovecot's log_path: "Dec 03 06:14:01 imap-login: Info: ..." (no host, no pid).
const DOVECOT = /^([A-Z][a-z]{2}) (\d\d) (\d\d):(\d\d):(\d\d) (.*)$/;
// An access log (common or combined): the time inside "[03/Dec/2026:06:14:01 +0000]"; the line is kept
// whole. What accessStamp reads: ^\S+ \S+ .*?\[(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\] "
const ACCESS_STAMP = /^\[(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\] "/;
const ACCESS_STAMP_LENGTH = 30;

// The last timestamp text read per form and its time: consecutive lines mostly share their second.
const lastNginx = { text: '', ms: 0 };
const lastAccess = { text: '', ms: 0 };

// The time of an nginx error line's timestamp (its first 20 characters: ^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ), or undefined.
function nginxTime(line: string): number | undefined {
  if (lastNginx.text !== '' && line.startsWith(lastNginx.text)) return lastNginx.ms;
  const year = digitsAt(line, 0, 4);
  const month = digitsAt(line, 5, 2);
  const day = digitsAt(line, 8, 2);
  const hours = digitsAt(line, 11, 2);
  const minutes = digitsAt(line, 14, 2);
  const seconds = digitsAt(line, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hours < 0 || minutes < 0 || seconds < 0) return undefined;
  const c = (at: number) => line.charCodeAt(at);
  if (c(4) !== 47 || c(7) !== 47 || c(10) !== 32 || c(13) !== 58 || c(16) !== 58 || c(19) !== 32) return undefined;
  const ms = new Date(year, month - 1, day, hours, minutes, seconds).getTime();
  lastNginx.text = line.slice(0, 20);
  lastNginx.ms = ms;
  return ms;
}

// The number the `count` ASCII digits at `at` write, or -1 if one of them is no digit.
function digitsAt(line: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const c = line.charCodeAt(i);
    if (!(c >= 48 && c <= 57)) return -1;
    value = value * 10 + c - 48;
  }
  return value;
}

// The time of an access log line: the first "[dd/Mon/yyyy:hh:mm:ss +hhmm] \"" after two words and a
// space with no line terminator before it; undefined when there is none, null when its month is none.
function accessTime(line: string): number | null | undefined {
  let from = 0;
  for (let word = 0; word < 2; word++) {
    const start = from;
    while (from < line.length && !isSpace(line.charCodeAt(from))) from++;
    if (from === start || line.charCodeAt(from) !== 32) return undefined;
    from++;
  }
  const before = lineTerminatorAt(line, from);
  for (let at = line.indexOf('[', from); at !== -1 && at < before; at = line.indexOf('[', at + 1)) {
    if (lastAccess.text !== '' && line.startsWith(lastAccess.text, at)) return lastAccess.ms;
    const m = ACCESS_STAMP.exec(line.slice(at, at + ACCESS_STAMP_LENGTH));
    if (!m) continue;
    const month = MONTHS[m[2] ?? ''];
    if (month === undefined) return null;
    const offsetMs = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9])) * 60_000;
    const ms = Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offsetMs;
    lastAccess.text = m[0];
    lastAccess.ms = ms;
    return ms;
  }
  return undefined;
}

// Splits a line of a daemon's own log file (nginx, apache, vsftpd, MariaDB, dovecot, access logs): its
// time, and the message after the timestamp. A line with no timestamp of a known form is undefined:
// the rest of a line that a client broke with a newline (nginx writes a user name as it came) must
// never be read as a line of its own.
export function parseNativeLine(line: string, nowMs: number): LogRecord | undefined {
  // The fifth character tells the timestamps apart ("2026/", "2026-", "[Thu ", "Thu D", "Dec 0"), so
  // that an access log's line (the commonest, and the longest) tries only its own form.
  const fifth = line.charCodeAt(4);
  let m: RegExpExecArray | null = null;
  if (fifth === 47) {
    const timeMs = nginxTime(line);
    const message = line.slice(20);
    if (timeMs !== undefined && !hasLineTerminator(message)) return { timeMs, program: undefined, pid: undefined, message };
  }
  if (line.charCodeAt(0) === 91) m = APACHE_ERROR.exec(line);
  if (m) return local(m[7], Number(m[6]), MONTHS[m[1] ?? ''], m[2], m[3], m[4], m[5]);
  if (line.charCodeAt(3) === 32) m = VSFTPD.exec(line);
  if (m) return local(m[7], Number(m[6]), MONTHS[m[1] ?? ''], m[2], m[3], m[4], m[5]);
  if (fifth === 45) m = MARIADB.exec(line);
  if (m) return local(m[7], Number(m[1]), Number(m[2]) - 1, m[3], m[4], m[5], m[6]);
  const timeMs = accessTime(line);
  if (timeMs === null) return undefined;
  if (timeMs !== undefined) return { timeMs, program: undefined, pid: undefined, message: line };
  m = DOVECOT.exec(line);
  if (m) {
    const year = yearOf(nowMs);
    let record = local(m[6], year, MONTHS[m[1] ?? ''], m[2], m[3], m[4], m[5]);
    if (record && (record.timeMs ?? 0) > nowMs + 86_400_000) record = local(m[6], year - 1, MONTHS[m[1] ?? ''], m[2], m[3], m[4], m[5]);
    return record;
  }
  return undefined;
}

function local(
  message: string | undefined,
  year: number,
  month: number | undefined,
  day: string | undefined,
  hours: string | undefined,
  minutes: string | undefined,
  seconds: string | undefined,
): LogRecord | undefined {
  if (month === undefined || message === undefined) return undefined;
  const timeMs = new Date(year, month, Number(day), Number(hours), Number(minutes), Number(seconds)).getTime();
  return Number.isNaN(timeMs) ? undefined : { timeMs, program: undefined, pid: undefined, message };
}

// How the lines of a log file are read: 'syslog' (with a program and its pid), 'native' (a daemon's
// own file), 'plain' (each line is a message of the filter's program, timed on arrival), or 'auto':
// a syslog line if it is one, else a daemon's own.
export type FileFormat = 'auto' | 'syslog' | 'native' | 'plain';

// One line of a file in the given format; undefined when it is not a line of that format.
export function parseFileLine(line: string, format: FileFormat, nowMs: number, program?: string): LogRecord | undefined {
  switch (format) {
    case 'syslog':
      return parseSyslogLine(line, nowMs);
    case 'native':
      return parseNativeLine(line, nowMs);
    case 'plain':
      return { timeMs: nowMs, program, pid: undefined, message: line };
    case 'auto':
      return parseSyslogLine(line, nowMs) ?? parseNativeLine(line, nowMs);
  }
}
