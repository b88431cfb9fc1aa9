import { fstatSync } from 'node:fs';

// How log lines are written: `journal` (a sentence with journald's <N> priority prefix), `text` (time,
// level and the sentence, for a terminal or a file), `json` (pino's own lines, for log shippers), or
// `auto`: journal when the stream is journald's (JOURNAL_STREAM names it), text otherwise.
export const LOG_FORMATS = ['auto', 'text', 'journal', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

// syslog priorities journald files lines under (sd-daemon(3)): pino's levels mapped to them.
const PRIORITY_OF_LEVEL: ReadonlyMap<number, number> = new Map([
  [60, 2], // fatal: crit
  [50, 3], // error: err
  [40, 4], // warn: warning
  [30, 6], // info
  [20, 7], // debug
  [10, 7], // trace
]);
const NAME_OF_LEVEL: ReadonlyMap<number, string> = new Map([
  [60, 'FATAL'],
  [50, 'ERROR'],
  [40, 'WARN'],
  [30, 'INFO'],
  [20, 'DEBUG'],
  [10, 'TRACE'],
]);

export function priorityOfLevel(level: number): number {
  return PRIORITY_OF_LEVEL.get(level) ?? 6;
}

// True when fd is the stream systemd connected to journald: JOURNAL_STREAM is "DEV:INODE" of it
// (systemd.exec(5)); a child whose output was redirected elsewhere inherits the variable, hence the check.
export function isJournalStream(fd: number, journalStream: string | undefined = process.env['JOURNAL_STREAM']): boolean {
  const match = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (!match) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(match[1] ?? '') && stat.ino === BigInt(match[2] ?? '');
  } catch {
    return false;
  }
}

// The format in force for a stream: an explicit choice, or auto's pick.
export function resolveLogFormat(choice: string | undefined, fd: number, journalStream?: string): Exclude<LogFormat, 'auto'> {
  if (choice === 'text' || choice === 'journal' || choice === 'json') return choice;
  return isJournalStream(fd, journalStream) ? 'journal' : 'text';
}

// The longest line written for journald. journald splits a longer line (LineMax=, 48 KiB by default)
// and reads a priority prefix again at the start of the rest: a line is cut well before that.
export const MAX_LINE = 8192;

// Control characters (a newline or a NUL above all, both of which end a line for journald) would let
// whatever follows pose as a line with a priority prefix of its own: they are written as escapes, and a
// line is cut at MAX_LINE characters.
function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\u0000-\u001f\u007f]/g, (char) => JSON.stringify(char).slice(1, -1));
  return escaped.length <= MAX_LINE ? escaped : `${escaped.slice(0, MAX_LINE - 12)} [truncated]`;
}

function renderValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=,()]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

// Fields pino adds to every line; the sentence says the rest.
const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'component']);

// One pino JSON line as a line a person reads: "component: message (key=value, ...)".
export function humanLine(record: Record<string, unknown>): string {
  const component = typeof record['component'] === 'string' ? `${record['component']}: ` : '';
  const message = typeof record['msg'] === 'string' ? record['msg'] : '';
  // A value the sentence already says (the address in "banned 192.0.2.7 ...") is not said twice.
  const words = new Set(message.split(/[\s,;()]+/).map((word) => word.replace(/:$/, '')));
  const said = (value: unknown): boolean =>
    typeof value === 'string'
      ? words.has(value) || (value.length > 12 && message.includes(value))
      : Array.isArray(value) && value.length > 0 && value.every(said);
  const details = Object.entries(record)
    .filter(([key, value]) => !OMITTED.has(key) && value !== undefined && value !== null && !said(value))
    .map(([key, value]) => `${key}=${renderValue(value)}`);
  return escapeControls(`${component}${message}${details.length > 0 ? ` (${details.join(', ')})` : ''}`);
}

// Reformats one line pino serialised, for the chosen format.
export function formatLogLine(json: string, format: Exclude<LogFormat, 'auto'>): string {
  if (format === 'json') return json.endsWith('\n') ? json : `${json}\n`;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return `${escapeControls(json.trimEnd())}\n`;
  }
  const level = typeof record['level'] === 'number' ? record['level'] : 30;
  if (format === 'journal') return `<${priorityOfLevel(level)}>${humanLine(record)}\n`;
  const time = typeof record['time'] === 'string' ? `${record['time']} ` : '';
  return `${time}${NAME_OF_LEVEL.get(level) ?? 'INFO'} ${humanLine(record)}\n`;
}

// The priority of a note a command writes on stderr, for journald: errors, warnings and refusals stand
// out from the rest (notice).
export function priorityOfNote(text: string): number {
  const first = text.trimStart().toLowerCase();
  if (first.startsWith('error') || first.startsWith('xtban: ')) return 3;
  if (first.startsWith('warning') || first.startsWith('refused') || first.startsWith('no room') || first.startsWith('list ')) return 4;
  return 5;
}

// Every line of a note with journald's priority prefix (a line without one would be filed at info),
// escaped as log lines are.
export function journalNote(text: string, priority = priorityOfNote(text)): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => `<${priority}>${escapeControls(line)}`)
    .join('\n')
    .concat('\n');
}
