// Runs before every test file: a command run without --state-dir (and without XTBAN_STATE_DIR) gets a
// throwaway state directory, so no test writes the host's /var/lib/xtban (the config cache would).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { removeScratchDirs } from './helpers/scratch.js';

if (process.env['XTBAN_STATE_DIR'] === undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'xtban-test-state-'));
  process.env['XTBAN_STATE_DIR'] = dir;
  afterAll(() => {
    delete process.env['XTBAN_STATE_DIR'];
    rmSync(dir, { recursive: true, force: true });
  });
}

afterAll(() => removeScratchDirs());
