import { closeSync, openSync, readFileSync, writeSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, XtbanError } from '../core/errors.js';

export const PROC_LISTS_DIR = '/proc/net/xt_recent';

// The kernel's recent lists: read a list, write one command ("+ADDR", "-ADDR" or "/").
export interface RecentLists {
  readonly directory: string;
  names(): Promise<string[]>;
  // undefined when the list does not exist (no rule names it in this network namespace).
  read(list: string): Promise<string | undefined>;
  // The same, at once: a ban reads its lists' fill just before writing, inside one turn of the event loop.
  readNow(list: string): string | undefined;
  // One open, one write, one close.
  write(list: string, command: string): void;
  // Many writes in order, each list opened once; the error of each, or undefined.
  writeMany(writes: readonly { list: string; command: string }[]): (XtbanError | undefined)[];
}

// Turns a failed proc write into a message that says what to do.
export function listWriteError(list: string, command: string, directory: string, error: unknown): XtbanError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new XtbanError(`list ${list} does not exist in ${directory}`, {
      exitCode: ExitCode.system,
      hint: 'run `xtban apply` first: a list exists only while a rule names it',
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new XtbanError(`no permission to write ${join(directory, list)}`, {
      exitCode: ExitCode.system,
      hint: 'run as root, or load xt_recent with ip_list_uid/ip_list_gid set to the user xtban runs as',
    });
  }
  if (code === 'EINVAL') {
    return new XtbanError(`the kernel refused ${JSON.stringify(command)} for list ${list}`, { exitCode: ExitCode.system });
  }
  return new XtbanError(`writing ${JSON.stringify(command)} to ${join(directory, list)} failed: ${code ?? String(error)}`, {
    exitCode: ExitCode.system,
    cause: error,
  });
}

// Synchronous on purpose: reading a list is the kernel's work either way, and through the thread pool each
// file costs four round trips (17 lists of a sharded jail: 2.4 ms against 1.2 ms read in turn). Latin-1:
// the kernel prints ASCII only, and taking bytes as they are skips UTF-8 decoding (8.5 MB, 100,000
// entries: 9 ms against 21); a byte above 127 in a captured file still fails the parser's line check.
function readList(directory: string, list: string): string | undefined {
  try {
    // One readFile: the kernel drops the list lock between reads, so fewer reads is a truer snapshot.
    return readFileSync(join(directory, list), 'latin1');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new XtbanError(`cannot read ${join(directory, list)}: ${code ?? String(error)}`, {
      exitCode: ExitCode.system,
      hint: code === 'EACCES' ? 'run as root, or pass --proc DIR to read captured lists' : undefined,
    });
  }
}

async function listNames(directory: string): Promise<string[]> {
  try {
    return (await readdir(directory)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new XtbanError(`cannot list ${directory}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { exitCode: ExitCode.system });
  }
}

// The kernel's proc directory (or any directory laid out like it).
export function procLists(directory = PROC_LISTS_DIR): RecentLists {
  return {
    directory,
    names: () => listNames(directory),
    read: async (list) => readList(directory, list),
    readNow: (list) => readList(directory, list),
    write(list, command) {
      const error = writeOne(join(directory, list), list, command, directory);
      if (error) throw error;
    },
    writeMany(writes) {
      // A descriptor kept open pays off only for a list written more than once (a single ban does without the addon).
      const lists = new Set(writes.map((write) => write.list));
      if (lists.size === writes.length) return writes.map(({ list, command }) => writeOne(join(directory, list), list, command, directory));
      // Grouped by list where that changes nothing a reader could see: within each run of additions
      // (between removals, which stay where they are), so that a move's addition still comes before its
      // removal and an eviction's removal before the addition. 100,000 bans over 2,048 lists open each
      // list once instead of once a write.
      const order = groupedOrder(writes);
      const errors = writeThroughOpenLists(
        directory,
        order.map((index) => writes[index] as { list: string; command: string }),
        seekToStart(),
      );
      const byIndex: (XtbanError | undefined)[] = new Array(writes.length);
      order.forEach((index, at) => {
        byIndex[index] = errors[at];
      });
      return byIndex;
    },
  };
}

// The order to write in: each run of '+' writes sorted by list (stably, so one list's writes keep their
// order), every other write where it was.
export function groupedOrder(writes: readonly { list: string; command: string }[]): number[] {
  const order: number[] = [];
  let run: number[] = [];
  const flush = () => {
    run.sort((a, b) => {
      const left = writes[a]?.list ?? '';
      const right = writes[b]?.list ?? '';
      return left < right ? -1 : left > right ? 1 : a - b;
    });
    order.push(...run);
    run = [];
  };
  writes.forEach((write, index) => {
    if (write.command.startsWith('+')) {
      run.push(index);
      return;
    }
    flush();
    order.push(index);
  });
  flush();
  return order;
}

function writeOne(path: string, list: string, command: string, directory: string): XtbanError | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_WRONLY);
    writeSync(fd, command);
    return undefined;
  } catch (error) {
    return listWriteError(list, command, directory, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// The kernel takes one command per write and only at offset 0, and its lists refuse pwrite (seq_file
// clears FMODE_PWRITE): a descriptor can be written again only after seeking back. Node has no lseek,
// the fs-ext addon does. Measured in a namespace, 10,000 writes: 2.2 µs each with one descriptor and a
// seek, 8.8 µs with an open and a close around each. Loaded on first use: a single ban does without it.
function seekToStart(): (fd: number) => void {
  if (!seekLoaded) {
    const fsExt = createRequire(import.meta.url)('fs-ext') as { seekSync(fd: number, position: number, whence: number): number };
    seekLoaded = (fd) => void fsExt.seekSync(fd, 0, 0);
  }
  return seekLoaded;
}
let seekLoaded: ((fd: number) => void) | undefined;

// At most this many lists open at once during one writeMany; the oldest is closed to make room.
const OPEN_LISTS_AT_MOST = 256;

function writeThroughOpenLists(
  directory: string,
  writes: readonly { list: string; command: string }[],
  seek: (fd: number) => void,
): (XtbanError | undefined)[] {
  // A descriptor, or why the list could not be opened: every write meant for it fails with that.
  const open = new Map<string, number | { failure: unknown }>();
  try {
    return writes.map(({ list, command }) => {
      let fd = open.get(list);
      if (fd === undefined) {
        if (open.size >= OPEN_LISTS_AT_MOST) {
          const [oldest, descriptor] = open.entries().next().value as [string, number | { failure: unknown }];
          if (typeof descriptor === 'number') closeSync(descriptor);
          open.delete(oldest);
        }
        try {
          fd = openSync(join(directory, list), constants.O_WRONLY);
        } catch (failure) {
          fd = { failure };
        }
        open.set(list, fd);
      }
      if (typeof fd !== 'number') return listWriteError(list, command, directory, fd.failure);
      try {
        seek(fd);
        writeSync(fd, command);
        return undefined;
      } catch (error) {
        return listWriteError(list, command, directory, error);
      }
    });
  } finally {
    for (const fd of open.values()) if (typeof fd === 'number') closeSync(fd);
  }
}
