// Runs before every test file: a command run without --state-dir (and without XTBAN_STATE_DIR) gets a
// throwaway state directory, so no test writes the host's /var/lib/xtban (the config cache would); and
// `apply` writes its modprobe.d file into a throwaway directory, never the host's /etc/modprobe.d.
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

if (process.env['XTBAN_MODPROBE_DIR'] === undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'xtban-test-modprobe-'));
  process.env['XTBAN_MODPROBE_DIR'] = dir;
  afterAll(() => {
    delete process.env['XTBAN_MODPROBE_DIR'];
    rmSync(dir, { recursive: true, force: true });
  });
}

afterAll(() => removeScratchDirs());
