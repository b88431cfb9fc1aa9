import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODPROBE_FILE } from '../core/list-size.js';
import { writeFileAtomicSync } from './atomic-file.js';

// The directory modprobe reads module options from.
export const SYSTEM_MODPROBE_DIRECTORY = '/etc/modprobe.d';

// Where xtban writes its module options: /etc/modprobe.d, or $XTBAN_MODPROBE_DIR (tests, a staging root).
export function modprobeDirectory(): string {
  return process.env['XTBAN_MODPROBE_DIR'] ?? SYSTEM_MODPROBE_DIRECTORY;
}

// Writes xtban's modprobe.d file when its text differs: 'written', 'unchanged', or the system's reason
// it could not be (a read-only /etc, not root).
export function writeModprobeConf(text: string, directory = modprobeDirectory()): { path: string; result: 'written' | 'unchanged' | { error: string } } {
  const path = join(directory, MODPROBE_FILE);
  let now: string | undefined;
  try {
    now = readFileSync(path, 'utf8');
  } catch {
    now = undefined;
  }
  if (now === text) return { path, result: 'unchanged' };
  try {
    mkdirSync(directory, { recursive: true });
    writeFileAtomicSync(path, text, { mode: 0o644, fsync: true });
    return { path, result: 'written' };
  } catch (error) {
    return { path, result: { error: (error as NodeJS.ErrnoException).code ?? String(error) } };
  }
}
