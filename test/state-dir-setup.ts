// Runs before every test file: a command run without --state-dir (and without XTBAN_STATE_DIR) gets a
// throwaway state directory, so no test writes the host's /var/lib/xtban (the config cache would); and
// `apply` writes its modprobe.d file into a throwaway directory, never the host's /etc/modprobe.d.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { removeScratchDirs } from './helpers/scratch.js';

// A throwaway directory in `variable` unless the run set one, removed when the file ends.
function throwawayDir(variable: string, prefix: string): void {
  if (process.env[variable] !== undefined) return;
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.env[variable] = dir;
  afterAll(() => {
    delete process.env[variable];
    rmSync(dir, { recursive: true, force: true });
  });
}

throwawayDir('XTBAN_STATE_DIR', 'xtban-test-state-');
throwawayDir('XTBAN_MODPROBE_DIR', 'xtban-test-modprobe-');

afterAll(() => removeScratchDirs());
