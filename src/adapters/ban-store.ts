import type { BanDecision, BanRecord, BanRequest } from '../core/bans.js';
import { bansTables } from './store-bans.js';
import { metaTables } from './store-meta.js';
import { guardFor, openStoreDatabase } from './store-open.js';
import { outboxQueue, outboxTables } from './store-outbox.js';

export { STORE_FILE, storeError } from './store-open.js';

// One recorded event, for `xtban bans --history` and metrics.
export interface BanEvent {
  time: number;
  jail: string;
  address: string;
  action: 'ban' | 'refresh' | 'repeat' | 'unban' | 'flush' | 'evicted' | 'unplaced' | 'moved' | 'rehomed' | 'restored' | 'reaped';
  source: string;
  detail: string | null;
}

// A request waiting for a central firewall, in the order it was made.
export interface OutboxItem {
  seq: number;
  target: string;
  verb: 'ban' | 'unban' | 'flush';
  jail: string;
  // Empty for flush.
  address: string;
  created: number;
  // What the fleet's other hosts are told of a ban (FLEET_TARGET's items); central firewalls need none.
  permanent?: boolean;
  tier?: number;
  reason?: string | null;
}

// The outbox's target for decisions published to the fleet: no remote's name starts with '@'.
export const FLEET_TARGET = '@fleet';

// A request a central firewall refused for good, moved out of the outbox so that it blocks nothing.
export interface DeadLetter extends OutboxItem {
  refusedAt: number;
  // The firewall's answer, as it came.
  answer: string;
}

// The durable store of bans: every change is one SQLite transaction, committed before the kernel is touched.
export interface BanStore {
  readonly location: string;
  get(jail: string, address: string): BanRecord | undefined;
  list(jail?: string): BanRecord[];
  // Bans not ended by unban, flush or the reaper: the only ones that can be live (restore, status, reap).
  open(jail?: string): BanRecord[];
  // Plans each request against the current record (core planBan) and writes the result, all in one transaction.
  // `outbox` turns the decisions into requests for central firewalls, queued in the same transaction.
  ban(
    requests: readonly BanRequest[],
    tierWindows: (jail: string) => readonly number[],
    nowMs: number,
    outbox?: (decisions: readonly BanDecision[]) => Omit<OutboxItem, 'seq' | 'created'>[],
  ): BanDecision[];
  // Ends the open bans of these addresses; returns the records that were open.
  unban(jail: string, addresses: readonly string[], source: string, nowMs: number): BanRecord[];
  // Ends every open ban of the jail; returns how many.
  flush(jail: string, source: string, nowMs: number): number;
  // Ends the open bans of these addresses (or, for 'all', of the whole jail) that `may` allows, and
  // leaves the others untouched, in one transaction: serve's unban and flush for a key that may end
  // only its own bans. Returns the records ended and the open records kept.
  endWhere(
    jail: string,
    addresses: readonly string[] | 'all',
    may: (record: BanRecord) => boolean,
    how: 'unban' | 'flush',
    source: string,
    nowMs: number,
  ): { ended: BanRecord[]; kept: BanRecord[] };
  // Ends the open bans among these that are over by `nowMs` (the reaper removed their entries); a ban
  // refreshed since the reaper looked stays open. Returns how many were ended.
  endIfOver(items: readonly { jail: string; address: string }[], tierWindows: (jail: string) => readonly number[], nowMs: number): number;
  // Raises lastActivity to what the kernel saw; returns how many records moved.
  touch(updates: readonly { jail: string; address: string; lastActivity: number }[]): number;
  // Appends events that change no ban (evictions found, bans put back).
  note(events: readonly BanEvent[]): void;
  events(jail?: string, limit?: number): BanEvent[];
  // How many entries full lists gave up, bans found no room, and bans moved shard, per jail, ever
  // (every process records them: the CLI, fail2ban's action, the daemon).
  placementCounts(): { jail: string; action: 'evicted' | 'unplaced' | 'moved'; count: number }[];
  // Queues requests for central firewalls; they survive restarts until a firewall answers them.
  enqueue(items: readonly Omit<OutboxItem, 'seq' | 'created'>[], nowMs: number): void;
  pending(target: string, limit: number): OutboxItem[];
  acknowledge(seqs: readonly number[]): void;
  // Acknowledges these requests and moves the refused ones into the dead letters, in one transaction
  // (a refused request is never in both, and never lost between them).
  settle(acknowledged: readonly number[], refused: readonly { seq: number; answer: string }[], nowMs: number): void;
  outboxSizes(): Map<string, number>;
  // Dead letters per target, and the newest of a target's (newest first).
  deadLetterCounts(): Map<string, number>;
  deadLetters(target: string, limit: number): DeadLetter[];
  // Removes a target's dead letters (every target's without one); returns how many.
  forgetDeadLetters(target?: string): number;
  // A random name for this store, so that request ids from different servers never collide.
  instance(): string;
  // Small facts kept with the bans.
  meta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  // The small facts whose keys start with this (non-empty) prefix.
  metaEntries(prefix: string): [string, string][];
  // Request ids `xtban serve` has carried out, so that a request delivered twice acts once.
  delivered(id: string): boolean;
  markDelivered(id: string, nowMs: number): void;
  close(): void;
}

// Opens (creating if needed) the store in a state directory, or in memory for tests (':memory:').
export function openBanStore(stateDir: string): BanStore {
  const { location, db } = openStoreDatabase(stateDir);
  const guarded = guardFor(location);
  const queue = outboxQueue(db);
  return {
    location,
    ...bansTables(db, guarded, queue),
    ...outboxTables(db, guarded, queue),
    ...metaTables(db, guarded),
    close: () => db.close(),
  };
}
