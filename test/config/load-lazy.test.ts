import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { scratchDir } from '../helpers/scratch.js';
import { packageVersion } from '../../src/version.js';

// Counts loads of the TOML parser and schema module (the factory runs on its first import only).
const loaded = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/config/parse.js', async (importOriginal) => {
  loaded.count++;
  return importOriginal();
});

describe('config loading', () => {
  it('loads the parser and schema only when the cache cannot answer', async () => {
    const dir = scratchDir('xtban-lazy-');
    const path = join(dir, 'xtban.toml');
    const text = '[jails.ssh]\nports = [22]\n';
    await writeFile(path, text);
    // A cache entry for exactly these bytes, with a marker only the cache can produce.
    const hash = createHash('sha256').update(text).digest('hex');
    await writeFile(
      join(dir, 'config-cache.json'),
      JSON.stringify({
        version: packageVersion(),
        hash,
        config: { source: path, serve: { keys: {} }, jails: [{ name: 'from-cache' }], filters: [], remotes: [] },
      }),
    );

    const cached = await loadConfig(path, dir);
    expect(cached.jails.map((jail) => jail.name)).toEqual(['from-cache']);
    expect(loaded.count).toBe(0);

    // A changed file misses the cache: now the parser loads and reads the file.
    await writeFile(path, '[jails.web]\nports = [80]\n');
    expect((await loadConfig(path, dir)).jails.map((jail) => jail.name)).toEqual(['web']);
    expect(loaded.count).toBe(1);
  });

  it('never reads a cache another version of xtban wrote, even for the same bytes', async () => {
    const dir = scratchDir('xtban-lazy-');
    const path = join(dir, 'xtban.toml');
    const text = '[jails.ssh]\nports = [22]\n';
    await writeFile(path, text);
    const hash = createHash('sha256').update(text).digest('hex');
    await writeFile(
      join(dir, 'config-cache.json'),
      JSON.stringify({
        version: '0.0.1-older',
        hash,
        config: { source: path, serve: { keys: {} }, jails: [{ name: 'from-cache' }], filters: [], remotes: [] },
      }),
    );
    expect((await loadConfig(path, dir)).jails.map((jail) => jail.name)).toEqual(['ssh']);
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
