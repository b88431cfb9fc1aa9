// A real daemon a kernel test started (sshd, nginx, postfix...): its output kept, and a stop that ends it
// (its own stop command first, when it has one), shared by the filter tests' harnesses.
import type { ChildProcess } from 'node:child_process';

// A daemon started by the test: its output so far, and a stop that ends it (and what it started).
export interface Daemon {
  readonly name: string;
  // Resolves with the exit code (or the signal) when the process ends.
  readonly exited: Promise<number | string>;
  output(): string;
  stop(): Promise<void>;
}

// A Daemon over a child process; onStop runs first when it is stopped (a daemon's own stop command).
export function track(name: string, child: ChildProcess, onStop?: () => Promise<void>): Daemon {
  let output = '';
  const keep = (chunk: Buffer): void => {
    if (output.length < 20_000) output += chunk.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
    child.once('error', () => resolve(-1));
  });
  let stopping: Promise<void> | undefined;
  return {
    name,
    exited,
    output: () => output,
    stop() {
      stopping ??= (async () => {
        await onStop?.().catch(() => {});
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const killed = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killed);
      })();
      return stopping;
    },
  };
}
