import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/scratch.js';

const dist = new URL('../../dist/main.js', import.meta.url).pathname;
const fixtures = new URL('../../fixtures/proc', import.meta.url).pathname;

describe('output to a reader that goes away', () => {
  it('stops quietly, as `xtban status --json | head` expects', async () => {
    const work = scratchDir('xtban-epipe-');
    const lists = join(work, 'lists');
    mkdirSync(lists);
    // About 1 MB of JSON: far more than a pipe holds.
    const lines = Array.from({ length: 5000 }, (_, i) => `src=198.51.100.${i % 250} ttl: 0 last_seen: 4294974736 oldest_pkt: 1 4294974736`);
    writeFileSync(join(lists, 'big'), `${lines.join('\n')}\n`);
    writeFileSync(join(work, 'xtban.toml'), '[safelist]\nown_addresses = false\n\n[jails.big]\nlist = "big"\nwindow = "1h"\nfamily = "ipv4"\n');
    const child = spawn(
      process.execPath,
      [
        dist,
        '--config',
        join(work, 'xtban.toml'),
        '--state-dir',
        work,
        'status',
        '--json',
        '--proc',
        lists,
        '--clock',
        fixtures,
        '--sys',
        join(fixtures, 'sys'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Read one chunk, then close the pipe like head does.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(stderr).not.toMatch(/\n\s+at /);
    // The exit code of the command itself (0 here: the one list exists).
    expect(code).toBe(0);
  });
});
