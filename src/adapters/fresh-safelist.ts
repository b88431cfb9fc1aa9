import { readFileSync, statSync } from 'node:fs';
import { formatNetwork } from '../core/address.js';
import { parseSafelistText, type SafeEntry, type Safelist } from '../core/safelist.js';
import type { Config, SafelistConfig } from '../core/domain.js';
import { configuredEntries, ownAddresses } from './safelist-source.js';

// The safelist a long-running process checks each admission against, as it is now. Every batch of
// admissions (one turn of the event loop: one chunk of a log, one change of a blocklist) first stats the
// safelist files and reads the interface addresses again: a file that changed is read anew, an address
// added to an interface is safe from then on. Measured here: about 50 µs a batch (reading the interface
// addresses is most of it; a stat is about 2 µs a file), nothing per line.
// A safelist file that becomes unreadable or broken keeps its last good entries (and says so): a broken
// safelist never turns into an empty one.
export class FreshSafelist {
  private readonly fixed: SafeEntry[];
  private readonly files = new Map<string, { key: string; entries: SafeEntry[] }>();
  private ownKey = '';
  private own: SafeEntry[] = [];
  private snapshot: Safelist;
  private fresh = false;

  constructor(
    private readonly config: SafelistConfig,
    source: string,
    initial: Safelist,
    private readonly onError: (message: string) => void,
    private readonly readOwn: () => SafeEntry[] = ownAddresses,
  ) {
    this.fixed = configuredEntries(config, source);
    // Each file is read again now; should that fail, what the initial safelist (read, and checked, at
    // start) holds for it stays in force.
    for (const file of config.files) this.files.set(file, { key: '', entries: initial.entries.filter((entry) => entry.origin.startsWith(`${file}:`)) });
    this.snapshot = initial;
    this.refresh();
  }

  current(): Safelist {
    if (!this.fresh) {
      this.fresh = true;
      setImmediate(() => (this.fresh = false));
      this.refresh();
    }
    return this.snapshot;
  }

  private refresh(): void {
    let changed = false;
    for (const file of this.config.files) {
      const key = fileKey(file);
      const known = this.files.get(file);
      if (known !== undefined && (key === known.key || `bad:${key}` === known.key)) continue;
      try {
        if (key === undefined) throw new Error('cannot be read');
        const text = readFileSync(file, 'utf8');
        // Being written (changed during the read, or emptied less than a second ago, as a rewrite in
        // place does first): read again on a later batch; until then the last good entries stay.
        if (fileKey(file) !== key) continue;
        if (text.trim() === '' && (known?.entries.length ?? 0) > 0 && Date.now() - statSync(file).mtimeMs < 1000) continue;
        const entries = parseSafelistText(text, file);
        this.files.set(file, { key, entries });
        changed = true;
      } catch (error) {
        // Keep the last good entries; said once per version of the file.
        this.onError(`safelist file ${file}: ${error instanceof Error ? error.message : String(error)}; its last good entries stay in force`);
        this.files.set(file, { key: `bad:${key}`, entries: known?.entries ?? [] });
      }
    }
    if (this.config.ownAddresses) {
      const own = this.readOwn();
      const key = own.map((entry) => formatNetwork(entry.network)).join(',');
      if (key !== this.ownKey) {
        this.own = own;
        this.ownKey = key;
        changed = true;
      }
    }
    if (changed) this.snapshot = { entries: [...this.fixed, ...[...this.files.values()].flatMap((file) => file.entries), ...this.own] };
  }
}

// What identifies a version of a file: inode, size and change times to the nanosecond; undefined when
// it cannot be read.
function fileKey(file: string): string | undefined {
  try {
    const stat = statSync(file, { bigint: true });
    return `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  } catch {
    return undefined;
  }
}

// The same context, its `safelist` read through a FreshSafelist (a getter: a copy made with a spread
// keeps the safelist of that moment).
export function withFreshSafelist<T extends { config: Config; safelist: Safelist }>(context: T, onError: (problem: string) => void): T {
  const fresh = new FreshSafelist(context.config.safelist, context.config.source, context.safelist, onError);
  return Object.defineProperty({ ...context }, 'safelist', { get: () => fresh.current(), enumerable: true });
}
