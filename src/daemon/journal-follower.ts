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

// True inside a container (systemd writes its kind into /run/systemd/container there).
export function inContainer(path = '/run/systemd/container'): boolean {
  try {
    return readFileSync(path, 'latin1').trim() !== '';
  } catch {
    return false;
  }
}

// How journalctl is to find this machine's entries. `-f` implies `--boot` (the current boot, read from
// /proc/sys/kernel/random/boot_id) in systemd 252, even with `--boot=all`. In a container that file is
// overmounted with the container's own boot id, and under the unit's ProtectKernelTunables= or
// ProtectControlGroups= the unit reads the host kernel's instead, which no entry carries: measured,
// journalctl then prints nothing at all. `--merge` is the one way to drop the implied boot match, so in a
// container it is used with `_MACHINE_ID=`. On a host, where the boot id is right, it is not: merge also
// opens journals other machines wrote (systemd-journal-remote), whose fields those machines chose.
export interface JournalScope {
  // Merge with this machine id, or undefined: journalctl's own local-only open.
  mergeMachineId: string | undefined;
}

export function journalScope(
  where: { container: boolean; machineId: string | undefined } = { container: inContainer(), machineId: localMachineId() },
): JournalScope {
  return { mergeMachineId: where.container ? where.machineId : undefined };
}

function scopeArgs(scope: JournalScope): { before: string[]; after: string[] } {
  return scope.mergeMachineId === undefined ? { before: [], after: [] } : { before: ['--merge'], after: [`_MACHINE_ID=${scope.mergeMachineId}`] };
}

// The one-shot that finds where the journal ends now: its newest entry, whatever it is (a cursor is a
// position in the whole journal, so following after it with a filter misses nothing written later).
export function journalTailArgs(scope: JournalScope): string[] {
  const { before, after } = scopeArgs(scope);
  return ['-n', '1', '-o', 'json', '--no-pager', ...before, ...after];
}

// The cursor of one `journalctl -o json` line, whatever its message.
export function cursorOf(line: string): string | undefined {
  try {
    const cursor = (JSON.parse(line) as Record<string, unknown>)['__CURSOR'];
    return typeof cursor === 'string' && cursor !== '' ? cursor : undefined;
  } catch {
    return undefined;
  }
}

// journalctl's arguments for following one source: after a cursor (the saved one, or the journal's end
// at the first start) with `--no-tail` (`-f` otherwise shows only the last 10 entries after it), or, with
// no cursor at all (an empty journal), from the end with `-n 0` and without `--no-tail` (which undoes
// `-n` and replays the whole journal).
export function journalctlArgs(source: {
  unit: string | undefined;
  identifier: string | undefined;
  cursor: string | undefined;
  scope: JournalScope;
}): string[] {
  const { before, after } = scopeArgs(source.scope);
  const args = ['-f', '-o', 'json', '--no-pager', ...before];
  if (source.unit) args.push('-u', source.unit);
  if (source.identifier) args.push('-t', source.identifier);
  if (source.cursor !== undefined) args.push('--no-tail', '--after-cursor', source.cursor);
  else args.push('-n', '0');
  args.push(...after);
  return args;
}

// Follows the journal through `journalctl -f -o json`, from the saved cursor (the first time, from the
// journal's end then), restarting journalctl if it ends.
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
    private readonly scope: JournalScope = journalScope(),
  ) {}

  start(): void {
    void this.begin().catch((error: unknown) => this.onError(error));
  }

  // The journal's end now, saved as this source's position: a restart before the first matching entry
  // then still reads what was logged while it was down.
  private async tailCursor(): Promise<string | undefined> {
    const result = await execa(journalctlCommand(), journalTailArgs(this.scope), { reject: false, stdin: 'ignore', timeout: 10_000 });
    const cursor = result.exitCode === 0 ? cursorOf(result.stdout.trim().split('\n').at(-1) ?? '') : undefined;
    if (cursor === undefined) return undefined;
    this.state.set(this.id, { kind: 'journal', cursor });
    return cursor;
  }

  private async begin(): Promise<void> {
    const saved = this.state.get(this.id);
    const cursor = saved?.kind === 'journal' ? saved.cursor : await this.tailCursor();
    if (this.stopped) return;
    const args = journalctlArgs({ ...this.match, cursor, scope: this.scope });
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
