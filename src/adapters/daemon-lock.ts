import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ExitCode, XtbanError } from '../core/errors.js';

interface FsExt {
  flockSync(fd: number, flags: 'sh' | 'ex' | 'shnb' | 'exnb' | 'un'): void;
}
let fsExt: FsExt | undefined;
const flock = (fd: number, flags: 'shnb' | 'exnb' | 'un'): void => {
  fsExt ??= createRequire(import.meta.url)('fs-ext') as FsExt;
  fsExt.flockSync(fd, flags);
};

// The daemon holds an exclusive flock on this file for as long as it runs: the kernel releases it when
// the process dies, however it dies, so no stale pid file can make a dead daemon look alive (or a live
// process that is not xtban look like the daemon).
export function daemonLockFile(stateDir: string): string {
  return join(stateDir, 'daemon.lock');
}

function busy(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

// Takes the lock, or refuses: one daemon per state directory. A command that looks at the lock at the
// same moment holds it shared for microseconds, so a few tries are made before giving up.
export async function lockDaemon(stateDir: string, tries = 20): Promise<{ release(): void }> {
  const path = daemonLockFile(stateDir);
  const fd = openSync(path, 'a+', 0o600);
  for (let attempt = 1; ; attempt++) {
    try {
      flock(fd, 'exnb');
      break;
    } catch (error) {
      if (!busy(error) || attempt >= tries) {
        closeSync(fd);
        if (busy(error)) {
          throw new XtbanError(`another xtban daemon runs on the state directory ${stateDir} (it holds ${path})`, {
            exitCode: ExitCode.system,
            hint: 'one daemon per state directory: stop the other (systemctl stop xtban), or give this one its own --state-dir',
          });
        }
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  // For people: which process holds it.
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`);
  return {
    release() {
      try {
        flock(fd, 'un');
      } finally {
        closeSync(fd);
      }
    },
  };
}

// True while a daemon holds the lock of this state directory.
export function daemonRunning(stateDir: string): boolean {
  let fd: number;
  try {
    fd = openSync(daemonLockFile(stateDir), 'r');
  } catch {
    return false;
  }
  try {
    flock(fd, 'shnb');
    flock(fd, 'un');
    return false;
  } catch (error) {
    // Anything but "held": no daemon can be relied on, so the command delivers itself.
    return busy(error);
  } finally {
    closeSync(fd);
  }
}
