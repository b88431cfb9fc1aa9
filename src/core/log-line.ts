// One log line split into what filters need: when, which program, and the message it wrote.
export interface LogRecord {
  // ms since the epoch, or undefined when the line carries no time xtban can read.
  timeMs: number | undefined;
  program: string | undefined;
  message: string;
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
// "Nov 21 02:33:32 host prog[123]: message" (RFC 3164, local time, no year).
const TRADITIONAL = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) \S+ ([^\s[:]+)(?:\[\d+\])?: (.*)$/;
// "2026-11-21T02:33:32.123456+00:00 host prog[123]: message" (rsyslog's high-precision format).
const ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) \S+ ([^\s[:]+)(?:\[\d+\])?: (.*)$/;

// Splits a syslog-file line. Traditional timestamps have no year: the year of `nowMs` is taken, and
// a date that would lie more than a day in the future belongs to the year before (a log read in January).
export function parseSyslogLine(line: string, nowMs: number): LogRecord | undefined {
  const first = line.charCodeAt(0);
  if (first >= 48 && first <= 57) {
    const iso = ISO.exec(line);
    return iso ? { timeMs: Date.parse(iso[1] ?? ''), program: iso[2], message: iso[3] ?? '' } : undefined;
  }
  const old = TRADITIONAL.exec(line);
  if (!old) return undefined;
  const year = yearOf(nowMs);
  let timeMs = traditionalTime(old, year);
  if (timeMs > nowMs + 86_400_000) timeMs = traditionalTime(old, year - 1);
  return { timeMs, program: old[6], message: old[7] ?? '' };
}

// Consecutive lines mostly share their second, and a scan reads millions: the local-time conversion of
// the last timestamp and the bounds of the current year are kept.
let lastStamp = { month: '', day: '', time: '', year: Number.NaN, ms: 0 };
let currentYear = { from: 0, to: -1, year: 0 };

function yearOf(nowMs: number): number {
  if (nowMs < currentYear.from || nowMs >= currentYear.to) {
    const year = new Date(nowMs).getFullYear();
    currentYear = { from: new Date(year, 0, 1).getTime(), to: new Date(year + 1, 0, 1).getTime(), year };
  }
  return currentYear.year;
}

function traditionalTime(fields: RegExpExecArray, year: number): number {
  const month = fields[1] ?? '';
  const day = fields[2] ?? '';
  const time = `${fields[3]}:${fields[4]}:${fields[5]}`;
  if (lastStamp.year === year && lastStamp.time === time && lastStamp.day === day && lastStamp.month === month) return lastStamp.ms;
  const ms = new Date(year, MONTHS[month] ?? 0, Number(day), Number(fields[3]), Number(fields[4]), Number(fields[5])).getTime();
  lastStamp = { month, day, time, year, ms };
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
  return {
    timeMs: Number.isFinite(micros) ? Math.floor(micros / 1000) : undefined,
    program: typeof program === 'string' ? program : undefined,
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
