// What most kernel test files share: a scratch directory removed after the file, the built CLI, a
// pause, and the CLI started as a long-running process inside a namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

// The built CLI (npm run build, or scripts/setup.sh).
export const CLI_MAIN = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A directory under /tmp for this test file, removed when the file is done (call at the top level).
export function workDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `xtban-${name}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Starts `xtban ARGS...` (a daemon, serve...) inside a namespace; its stdout and stderr go to onOutput.
export function spawnXtban(ns: string, args: readonly string[], options: { onOutput?: (text: string) => void; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI_MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: options.env } : {}),
  });
  const onOutput = options.onOutput;
  if (onOutput) {
    child.stdout?.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  }
  return child;
}
