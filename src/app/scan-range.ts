import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { ExitCode, XtbanError } from '../core/errors.js';
import { AttemptLinker } from '../core/attempts.js';
import { compileFilter, matchMessage, type CompiledFilter, type FilterSpec } from '../core/filter.js';
import { parseFileLine, parseJournalEntry, type FileFormat } from '../core/log-line.js';

// What scan needs from one byte range of a log, in the order of its lines: the counts, and each match
// as an index into `addresses` and a time. Compact so that a worker thread hands it over cheaply.
export interface RangeScan {
  // matched: lines a pattern took; linked: of those, the lines of an attempt already counted (the
  // PAM line before "Failed password", a close after failures), not counted again.
  stats: { lines: number; matched: number; linked: number; ignored: number; missed: number; tooLong: number; ambiguous: number; unparsed: number };
  addresses: string[];
  which: Uint32Array;
  times: Float64Array;
}

export interface RangeJob {
  path: string;
  // Byte offsets: start is 0 or the first byte of a line; end is the file's size or a line's first byte.
  start: number;
  end: number;
  spec: FilterSpec;
  // How the lines are read: journal JSON (journalctl -o json) is always recognised.
  format: FileFormat;
  // Time for lines without one, and the reference for syslog lines without a year.
  nowMs: number;
}

// Reads the lines of job.path between its offsets and matches each against the filter (compiled here
// unless the caller on the same thread has it already).
export async function scanRange(job: RangeJob, filter: CompiledFilter = compileFilter(job.spec)): Promise<RangeScan> {
  const stats = { lines: 0, matched: 0, linked: 0, ignored: 0, missed: 0, tooLong: 0, ambiguous: 0, unparsed: 0 };
  const attempts = new AttemptLinker();
  const program = filter.programs ? [...filter.programs][0] : undefined;
  const indexOf = new Map<string, number>();
  const addresses: string[] = [];
  const which: number[] = [];
  const times: number[] = [];
  const onLine = (line: string): void => {
    stats.lines++;
    const record = line.startsWith('{') ? parseJournalEntry(line) : parseFileLine(line, job.format, job.nowMs, program);
    if (!record) {
      stats.unparsed++;
      return;
    }
    const result = matchMessage(filter, record.program, record.message);
    if (result.kind === 'ignored') stats.ignored++;
    else if (result.kind === 'none') stats.missed++;
    else if (result.kind === 'too-long') stats.tooLong++;
    else if (result.kind === 'ambiguous') stats.ambiguous++;
    else {
      stats.matched++;
      const timeMs = record.timeMs ?? job.nowMs;
      const role = filter.roles[result.pattern] ?? 'failure';
      if (!attempts.counts({ program: record.program, pid: record.pid, timeMs }, result.address.text, role, result.pattern)) {
        stats.linked++;
        return;
      }
      let index = indexOf.get(result.address.text);
      if (index === undefined) {
        index = addresses.push(result.address.text) - 1;
        indexOf.set(result.address.text, index);
      }
      which.push(index);
      times.push(timeMs);
    }
  };
  if (job.end > job.start) await eachLine(job.path, job.start, job.end, onLine);
  return { stats, addresses, which: Uint32Array.from(which), times: Float64Array.from(times) };
}

// Calls `onLine` for every line between two offsets, reading in large chunks; a last line without a
// newline counts, a carriage return before the newline does not.
async function eachLine(path: string, start: number, end: number, onLine: (line: string) => void): Promise<void> {
  let rest = '';
  try {
    for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20, start, end: end - 1 })) {
      const text = rest + (chunk as string);
      let from = 0;
      for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', from)) {
        onLine(text.charCodeAt(newline - 1) === 13 ? text.slice(from, newline - 1) : text.slice(from, newline));
        from = newline + 1;
      }
      rest = text.slice(from);
    }
  } catch (error) {
    throw readError(path, error);
  }
  if (rest !== '') onLine(rest);
}

// A log that cannot be read: a usage error naming the file and the system's reason.
export function readError(path: string, error: unknown): XtbanError {
  return new XtbanError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { exitCode: ExitCode.usage });
}

// Cuts a file of `size` bytes into at most `parts` ranges that start at line starts. A range never starts
// inside a line: each cut moves forward to just after the next newline (or is dropped if there is none).
export async function lineRanges(path: string, size: number, parts: number): Promise<{ start: number; end: number }[]> {
  const cuts = [0];
  if (parts > 1) {
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, 'r');
      const buffer = Buffer.alloc(64 * 1024);
      for (let part = 1; part < parts; part++) {
        let offset = Math.max(Math.floor((size * part) / parts), cuts[cuts.length - 1] ?? 0);
        let cut: number | undefined;
        while (cut === undefined && offset < size) {
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
          if (bytesRead === 0) break;
          const newline = buffer.subarray(0, bytesRead).indexOf(10);
          if (newline === -1) offset += bytesRead;
          else cut = offset + newline + 1;
        }
        if (cut !== undefined && cut < size && cut > (cuts[cuts.length - 1] ?? 0)) cuts.push(cut);
      }
    } catch (error) {
      throw readError(path, error);
    } finally {
      await handle?.close();
    }
  }
  return cuts.map((start, index) => ({ start, end: cuts[index + 1] ?? size }));
}
