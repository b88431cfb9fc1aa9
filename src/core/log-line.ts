// One log line split into what filters need: when, which program, and the message it wrote.
export interface LogRecord {
  // ms since the epoch, or undefined when the line carries no time xtban can read.
  timeMs: number | undefined;
  program: string | undefined;
  message: string;
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
// "Nov 21 02:33:32 host prog[123]: message" (RFC 3164, local time, no year).
const TRADITIONAL = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) \S+ ([^\s\[:]+)(?:\[\d+\])?: (.*)$/;
// "2026-11-21T02:33:32.123456+00:00 host prog[123]: message" (rsyslog's high-precision format).
const ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) \S+ ([^\s\[:]+)(?:\[\d+\])?: (.*)$/;

// Splits a syslog-file line. Traditional timestamps have no year: the year of `nowMs` is taken, and
// a date that would lie more than a day in the future belongs to the year before (a log read in January).
export function parseSyslogLine(line: string, nowMs: number): LogRecord | undefined {
  const iso = ISO.exec(line);
  if (iso) return { timeMs: Date.parse(iso[1] ?? ''), program: iso[2], message: iso[3] ?? '' };
  const old = TRADITIONAL.exec(line);
  if (!old) return undefined;
  const now = new Date(nowMs);
  const make = (year: number) => new Date(year, MONTHS[old[1] ?? ''] ?? 0, Number(old[2]), Number(old[3]), Number(old[4]), Number(old[5])).getTime();
  let timeMs = make(now.getFullYear());
  if (timeMs > nowMs + 86_400_000) timeMs = make(now.getFullYear() - 1);
  return { timeMs, program: old[6], message: old[7] ?? '' };
}

// A journal entry as `journalctl -o json` prints it: the identifier and message fields.
export function parseJournalEntry(json: string): (LogRecord & { cursor: string | undefined }) | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  // journald gives a message as an array of bytes when it is not valid UTF-8: not ours to match.
  const message = entry['MESSAGE'];
  if (typeof message !== 'string') return undefined;
  const micros = Number(entry['__REALTIME_TIMESTAMP']);
  const program = entry['SYSLOG_IDENTIFIER'] ?? entry['_COMM'];
  return {
    timeMs: Number.isFinite(micros) ? Math.floor(micros / 1000) : undefined,
    program: typeof program === 'string' ? program : undefined,
    message,
    cursor: typeof entry['__CURSOR'] === 'string' ? (entry['__CURSOR'] as string) : undefined,
  };
}
