import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../adapters/atomic-file.js';

// Where each followed source stopped: a file's inode and offset, a journal cursor. Kept in the state
// directory so that a restart neither misses nor counts a line twice.
export type SourcePosition = { kind: 'file'; inode: number; offset: number } | { kind: 'journal'; cursor: string };

export class SourceState {
  private readonly path: string;
  private readonly positions: Map<string, SourcePosition>;
  private dirty = false;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'sources.json');
    let saved: Record<string, SourcePosition> = {};
    try {
      saved = JSON.parse(readFileSync(this.path, 'utf8')) as Record<string, SourcePosition>;
    } catch {
      // First start, or a file cut short by a crash: start at the end of every source.
    }
    this.positions = new Map(Object.entries(saved));
  }

  get(id: string): SourcePosition | undefined {
    return this.positions.get(id);
  }

  set(id: string, position: SourcePosition): void {
    if (JSON.stringify(this.positions.get(id)) === JSON.stringify(position)) return;
    this.positions.set(id, position);
    this.dirty = true;
  }

  // Replaced whole and synced: a crash leaves the old offsets or the new, never half.
  flush(): void {
    if (!this.dirty) return;
    writeFileAtomicSync(this.path, `${JSON.stringify(Object.fromEntries(this.positions), null, 1)}\n`, { mode: 0o600, fsync: true });
    this.dirty = false;
  }
}
