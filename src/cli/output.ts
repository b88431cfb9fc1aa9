import { isJournalStream, journalNote } from '../log-format.js';

// Renders rows as an aligned text table; the first row is the header.
export function renderTable(rows: readonly (readonly string[])[], options: { alignRight?: readonly number[] } = {}): string {
  if (rows.length === 0) return '';
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length);
    });
  }
  const right = new Set(options.alignRight ?? []);
  return rows
    .map((row) =>
      row
        .map((cell, index) =>
          index === row.length - 1 && !right.has(index) ? cell : right.has(index) ? cell.padStart(widths[index] ?? 0) : cell.padEnd(widths[index] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

// Where command output goes: stdout for results, stderr for notes, so --json stays parseable.
export interface Output {
  json: boolean;
  // A human line on stdout (suppressed under --json).
  line(text: string): void;
  // A note or warning for people on stderr (shown in both modes).
  note(text: string): void;
  // The machine-readable result under --json (ignored otherwise).
  result(value: unknown): void;
}

// Whether a command printed its JSON result: a failure after it prints no second document.
let resultPrinted = false;
export function jsonResultPrinted(): boolean {
  return resultPrinted;
}
// A new command line starts with nothing printed (main runs once per process, but tests run many).
export function forgetJsonResult(): void {
  resultPrinted = false;
}

// The terminal's output, or any pair of writers for tests. Under journald (stderr is its stream), notes
// carry a priority prefix, so that errors and warnings are filed as such.
export function createOutput(
  json: boolean,
  stdout: (text: string) => void = (text) => process.stdout.write(text),
  stderr: (text: string) => void = (text) => process.stderr.write(text),
  journal: boolean = isJournalStream(2),
): Output {
  return {
    json,
    line(text) {
      if (!json) stdout(`${text}\n`);
    },
    note(text) {
      stderr(journal ? journalNote(text) : `${text}\n`);
    },
    // One line of JSON: cheap for large results; pipe it through jq to read it.
    result(value) {
      if (!json) return;
      stdout(`${JSON.stringify(value)}\n`);
      resultPrinted = true;
    },
  };
}

export { familyName } from '../core/address.js';
