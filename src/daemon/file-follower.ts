import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import type { SourceState } from './source-state.js';

// Follows a log file like `tail -F`: appended lines, rotation by rename (the old file is read to its
// end first) and by copytruncate, a file that appears later. Starts at the end the first time, then
// from the saved offset. chokidar says when to look; a timer looks too, in case an event is missed.
export class FileFollower {
  private fd: number | undefined;
  private inode = 0;
  private offset = 0;
  private partial = '';
  // The last bytes read before `offset`: if they change, the file was truncated and written again
  // (copytruncate) even when it has grown past the old offset by the time we look.
  private seen = Buffer.alloc(0);
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private followUp: NodeJS.Timeout | undefined;
  private readonly buffer = Buffer.alloc(1 << 20);

  constructor(
    private readonly id: string,
    private readonly path: string,
    private readonly state: SourceState,
    private readonly onLine: (line: string) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.open(true);
    this.watcher = watch(this.path, { ignoreInitial: true, disableGlobbing: true, atomic: false } as Parameters<typeof watch>[1]);
    // chokidar throttles change events (a change soon after another is dropped): after each event, and
    // as long as new lines keep coming, look every 10 ms until 200 ms pass without any.
    this.watcher.on('all', () => this.wake());
    this.watcher.on('error', (error) => this.onError(error));
    this.timer = setInterval(() => this.poll(), 1000);
  }

  private activeUntil = 0;

  private wake(): void {
    this.activeUntil = Date.now() + 200;
    this.poll();
    if (this.followUp !== undefined) return;
    const tick = () => {
      if (Date.now() > this.activeUntil) {
        this.followUp = undefined;
        return;
      }
      const before = this.offset;
      this.poll();
      if (this.offset !== before) this.activeUntil = Date.now() + 200;
      this.followUp = setTimeout(tick, 10);
    };
    this.followUp = setTimeout(tick, 10);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.followUp);
    await this.watcher?.close();
    this.poll();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  // Opens the file at the path; `resume` means: from the saved offset if it is the same file, else at
  // the end the first time and at the start of a file that replaced the one we followed.
  private open(resume: boolean): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return; // Not there (yet): the watcher or the timer will see it appear.
    }
    const stat = fstatSync(fd);
    const saved = this.state.get(this.id);
    this.fd = fd;
    this.inode = stat.ino;
    this.partial = '';
    this.seen = Buffer.alloc(0);
    if (resume && saved?.kind === 'file' && saved.inode === stat.ino && saved.offset <= stat.size) this.offset = saved.offset;
    else if (resume && saved === undefined) this.offset = stat.size;
    else this.offset = 0;
    this.save();
  }

  // The saved offset stops before an unfinished last line, which is read again whole after a restart.
  private save(): void {
    this.state.set(this.id, { kind: 'file', inode: this.inode, offset: this.offset - Buffer.byteLength(this.partial) });
  }

  // Reads what is new; handles truncation and replacement of the file.
  poll(): void {
    try {
      if (this.fd === undefined) {
        this.open(false);
        if (this.fd === undefined) return;
      }
      const size = fstatSync(this.fd).size;
      if (size < this.offset || !this.stillSame()) {
        // copytruncate: the same file, cut back to zero and written again.
        this.offset = 0;
        this.partial = '';
        this.seen = Buffer.alloc(0);
      }
      this.drain();
      let current: number | undefined;
      try {
        current = statSync(this.path).ino;
      } catch {
        current = undefined;
      }
      if (current !== undefined && current !== this.inode) {
        // Renamed away and replaced: the old file was read to its end above; follow the new one from its start.
        if (this.partial !== '') this.emit(this.partial);
        closeSync(this.fd);
        this.fd = undefined;
        this.open(false);
        this.drain();
      }
      this.save();
    } catch (error) {
      this.onError(error);
    }
  }

  private stillSame(): boolean {
    if (this.fd === undefined || this.seen.length === 0) return true;
    const now = Buffer.alloc(this.seen.length);
    const read = readSync(this.fd, now, 0, now.length, this.offset - this.seen.length);
    return read === now.length && now.equals(this.seen);
  }

  private drain(): void {
    if (this.fd === undefined) return;
    for (;;) {
      const read = readSync(this.fd, this.buffer, 0, this.buffer.length, this.offset);
      if (read === 0) return;
      this.offset += read;
      const keep = Math.min(64, read);
      this.seen = Buffer.concat([this.seen, this.buffer.subarray(read - keep, read)]).subarray(-64);
      const text = this.partial + this.buffer.toString('utf8', 0, read);
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.emit(line);
    }
  }

  // Lines may end in CRLF (sshd -E writes them so): the CR is not part of the message.
  private emit(line: string): void {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text !== '') this.onLine(text);
  }
}
