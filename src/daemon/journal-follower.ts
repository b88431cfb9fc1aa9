import { readFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { parseJournalEntry, type LogRecord } from '../core/log-line.js';
import type { SourceState } from './source-state.js';

// The journalctl binary; XTBAN_JOURNALCTL points elsewhere (tests use a recording of journalctl's output).
export function journalctlCommand(): string {
  return process.env['XTBAN_JOURNALCTL'] ?? 'journalctl';
}

// This machine's id as journald stamps it on every local entry (_MACHINE_ID), or undefined when unknown.
export function localMachineId(path = '/etc/machine-id'): string | undefined {
  try {
    const id = readFileSync(path, 'latin1').trim();
    return /^[0-9a-f]{32}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

// journalctl's arguments for following one source.
// - `-f` implies `--boot` (the current boot, read from /proc/sys/kernel/random/boot_id) in systemd 252, even
//   with `--boot=all`. Under ProtectKernelTunables= or ProtectControlGroups= in a container (systemd-nspawn
//   overmounts that file with the container's own boot id), the unit reads the host kernel's boot id
//   instead, which no entry carries: measured, journalctl then prints nothing at all. `--merge` is the one
//   way to drop the implied boot match; `_MACHINE_ID=` then keeps what merge would add (other machines'
//   journals, from systemd-journal-remote or containers) out. On resume this also reads entries written
//   after the cursor in an earlier boot, so a reboot loses none.
// - The first time, `-n 0` starts at the end: nothing stored is replayed. `--no-tail` must not be given
//   then (it undoes `-n`); after a cursor it must (`-f` otherwise shows only the last 10 entries after it).
export function journalctlArgs(source: { unit: string | undefined; identifier: string | undefined; cursor: string | undefined; machineId: string | undefined }): string[] {
  const args = ['-f', '-o', 'json', '--no-pager'];
  if (source.machineId !== undefined) args.push('--merge');
  if (source.unit) args.push('-u', source.unit);
  if (source.identifier) args.push('-t', source.identifier);
  if (source.cursor !== undefined) args.push('--no-tail', '--after-cursor', source.cursor);
  else args.push('-n', '0');
  if (source.machineId !== undefined) args.push(`_MACHINE_ID=${source.machineId}`);
  return args;
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
    private readonly machineId: string | undefined = localMachineId(),
  ) {}

  start(): void {
    const saved = this.state.get(this.id);
    const args = journalctlArgs({ ...this.match, cursor: saved?.kind === 'journal' ? saved.cursor : undefined, machineId: this.machineId });
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
