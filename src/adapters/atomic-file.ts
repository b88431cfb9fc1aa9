import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

// A file replaced whole: the data goes to a new temporary file in the same directory (so the rename
// stays on one filesystem), which is then renamed over the target. A reader sees the old file or the
// new one, never half of either; on any failure the temporary file is removed and the old file stays.
//
// The temporary file is created exclusively ('wx'): a file or link someone planted at its name is
// never opened, let alone followed. Its name (hidden, the pid and random bytes, ending in .tmp) is
// never a name a reader looks for, such as node_exporter's *.prom.
//
// mode: the file's permissions, applied exactly (fchmod, not left to the umask); without it the
// usual 0666 less the umask.
// fsync: the data and then the directory are synced before returning, so that after a power loss
// the target holds the new data or the old, not an empty or torn file. Worth it for records that
// must survive a crash (the applied chains, the sources' offsets, installed files); a file that is
// rebuilt anyway (a cache, a metrics textfile rewritten every interval) can do without the cost.
export interface AtomicWriteOptions {
  mode?: number;
  fsync?: boolean;
}

// What fs/promises' writeFile takes: a string or bytes, or (async) iterables or a stream of them.
export type AtomicData = Parameters<typeof writeFile>[1];

const ATTEMPTS = 5;

function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function isCollision(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EEXIST';
}

export async function writeFileAtomic(path: string, data: AtomicData, options: AtomicWriteOptions = {}): Promise<void> {
  let temporary = '';
  let handle: FileHandle | undefined;
  for (let attempt = 1; handle === undefined; attempt++) {
    temporary = temporaryName(path);
    try {
      handle = await open(temporary, 'wx', options.mode ?? 0o666);
    } catch (error) {
      // Someone else's file at that name: left alone, another name tried.
      if (!isCollision(error) || attempt >= ATTEMPTS) throw error;
    }
  }
  try {
    try {
      await writeFile(handle, data);
      if (options.mode !== undefined) await handle.chmod(options.mode);
      if (options.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  if (options.fsync) await syncDirectory(dirname(path));
}

export function writeFileAtomicSync(path: string, data: string | NodeJS.ArrayBufferView, options: AtomicWriteOptions = {}): void {
  let temporary = '';
  let fd: number | undefined;
  for (let attempt = 1; fd === undefined; attempt++) {
    temporary = temporaryName(path);
    try {
      fd = openSync(temporary, 'wx', options.mode ?? 0o666);
    } catch (error) {
      if (!isCollision(error) || attempt >= ATTEMPTS) throw error;
    }
  }
  try {
    try {
      writeFileSync(fd, data);
      if (options.mode !== undefined) fchmodSync(fd, options.mode);
      if (options.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // the write's own error is the one to report
    }
    throw error;
  }
  if (options.fsync) syncDirectorySync(dirname(path));
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function syncDirectorySync(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
