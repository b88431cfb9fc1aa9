import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { daemonLockFile, daemonRunning, lockDaemon } from '../../src/adapters/daemon-lock.js';
import { scratchDir } from '../helpers/scratch.js';

describe('the daemon lock', () => {
  it('is held while the daemon runs, refused to a second one, and free once released', async () => {
    const dir = scratchDir('xtban-lock-');
    expect(daemonRunning(dir)).toBe(false);
    const lock = await lockDaemon(dir);
    expect(daemonRunning(dir)).toBe(true);
    await expect(lockDaemon(dir, 2)).rejects.toThrow(/another xtban daemon runs on the state directory/);
    lock.release();
    expect(daemonRunning(dir)).toBe(false);
    (await lockDaemon(dir)).release();
  });

  it('is not fooled by a file naming a live process that holds no lock (a stale pid, an unrelated process)', async () => {
    const dir = scratchDir('xtban-lock-');
    // A live process of this user, which a pid check would take for the daemon.
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeFileSync(daemonLockFile(dir), `${other.pid}\n`);
      expect(daemonRunning(dir)).toBe(false);
    } finally {
      const exited = new Promise((resolve) => other.once('exit', resolve));
      other.kill('SIGKILL');
      await exited;
    }
  });

  it('is released by the kernel when the holder dies, however it dies', async () => {
    const dir = scratchDir('xtban-lock-');
    const script = `const { openSync } = require('node:fs'); const fsExt = require(${JSON.stringify(require.resolve('fs-ext'))}); const fd = openSync(${JSON.stringify(daemonLockFile(dir))}, 'a+'); fsExt.flockSync(fd, 'exnb'); console.log('locked'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    expect(daemonRunning(dir)).toBe(true);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(daemonRunning(dir)).toBe(false);
  });
});
