import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeModprobeConf } from '../../src/adapters/modprobe-conf.js';
import { scratchDir } from '../helpers/scratch.js';

describe('writeModprobeConf', () => {
  it('writes xtban.conf (0644, making the directory), leaves it when unchanged, and says why when it cannot', () => {
    const dir = join(scratchDir('xtban-modprobe-'), 'modprobe.d');
    const text = 'options xt_recent ip_list_tot=10000\n';
    expect(writeModprobeConf(text, dir)).toEqual({ path: join(dir, 'xtban.conf'), result: 'written' });
    expect(readFileSync(join(dir, 'xtban.conf'), 'utf8')).toBe(text);
    expect(statSync(join(dir, 'xtban.conf')).mode & 0o777).toBe(0o644);
    expect(writeModprobeConf(text, dir).result).toBe('unchanged');
    expect(writeModprobeConf('options xt_recent ip_list_tot=20000\n', dir).result).toBe('written');
    // A directory in the way of the file: the system's reason, nothing thrown.
    const blocked = scratchDir('xtban-modprobe-');
    writeFileSync(join(blocked, 'modprobe.d'), 'a file');
    expect(writeModprobeConf(text, join(blocked, 'modprobe.d')).result).toEqual({ error: expect.stringMatching(/^E/) });
    mkdirSync(join(blocked, 'ro'));
    chmodSync(join(blocked, 'ro'), 0o500);
    if (process.getuid?.() !== 0) expect(writeModprobeConf(text, join(blocked, 'ro')).result).toEqual({ error: 'EACCES' });
  });
});
