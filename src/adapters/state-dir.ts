import { mkdirSync } from 'node:fs';

export const DEFAULT_STATE_DIR = '/var/lib/xtban';

// --state-dir wins over XTBAN_STATE_DIR, which wins over /var/lib/xtban.
export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env['XTBAN_STATE_DIR'] ?? DEFAULT_STATE_DIR;
}

// Creates the state directory itself (mode 0700) but not its parents: a recursive mkdir can spin
// forever on pseudo file systems (seen with /proc in Node 20), and /var/lib always exists.
export function makeStateDir(stateDir: string): void {
  try {
    mkdirSync(stateDir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
