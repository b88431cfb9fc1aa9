import { execa, type ResultPromise } from 'execa';
import { parseJournalEntry, type LogRecord } from '../core/log-line.js';
import type { SourceState } from './source-state.js';

// The journalctl binary; XTBAN_JOURNALCTL points elsewhere (tests use a recording of journalctl's output).
export function journalctlCommand(): string {
  return process.env['XTBAN_JOURNALCTL'] ?? 'journalctl';
}

// Follows the journal through `journalctl -f -o json`, from the saved cursor (or from now the first
// time), restarting journalctl if it ends.
export class JournalFollower {
  private child: ResultPromise | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly id: string,
    private readonly match: { unit: string | undefined; identifier: string | undefined },
    private readonly state: SourceState,
    private readonly onRecord: (record: LogRecord) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    const saved = this.state.get(this.id);
    const args = ['-f', '-o', 'json', '--no-pager', '--no-tail'];
    if (this.match.unit) args.push('-u', this.match.unit);
    if (this.match.identifier) args.push('-t', this.match.identifier);
    if (saved?.kind === 'journal') args.push('--after-cursor', saved.cursor);
    else args.push('-n', '0');
    const child = execa(journalctlCommand(), args, { buffer: false, reject: false, stdin: 'ignore', stderr: 'pipe' });
    this.child = child;
    let partial = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const entry = parseJournalEntry(line);
        if (!entry) continue;
        if (entry.cursor) this.state.set(this.id, { kind: 'journal', cursor: entry.cursor });
        this.onRecord(entry);
      }
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    void child.then((result) => {
      if (this.stopped) return;
      this.onError(new Error(`journalctl ended (exit ${result.exitCode ?? result.signal ?? '?'}): ${stderr.trim() || result.shortMessage}`));
      this.retry = setTimeout(() => this.start(), 5000);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.child?.kill('SIGTERM');
    await this.child?.catch(() => undefined);
  }
}
