import type Database from 'better-sqlite3';
import type { BanStore, DeadLetter, OutboxItem } from './ban-store.js';
import { lazy, type Guarded } from './store-open.js';

// Writes requests into the outbox inside the caller's transaction: a ban and the requests it makes for central firewalls commit together.
export type QueueRequests = (items: readonly Omit<OutboxItem, 'seq' | 'created'>[], nowMs: number) => void;

// One outbox insert for both enqueue and ban, prepared on first use.
export function outboxQueue(db: Database.Database): QueueRequests {
  const insertOutbox = lazy(() =>
    db.prepare<[string, string, string, string, number, number, number, string | null]>(
      'INSERT INTO outbox (target, verb, jail, address, created, permanent, tier, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
  );
  return (items, nowMs) => {
    for (const item of items)
      insertOutbox().run(item.target, item.verb, item.jail, item.address, nowMs, item.permanent === true ? 1 : 0, item.tier ?? 0, item.reason ?? null);
  };
}

// The outbox, dead_letters and delivered tables: requests for central firewalls until answered, the ones refused for good, and the request ids serve has carried out.
export function outboxTables(
  db: Database.Database,
  guarded: Guarded,
  queue: QueueRequests,
): Pick<
  BanStore,
  'enqueue' | 'pending' | 'acknowledge' | 'settle' | 'outboxSizes' | 'deadLetterCounts' | 'deadLetters' | 'forgetDeadLetters' | 'delivered' | 'markDelivered'
> {
  const acknowledgeAll = lazy(() =>
    db.transaction((seqs: readonly number[]) => {
      for (const seq of seqs) deleteOutbox().run(seq);
    }),
  );
  // The outbox's seq is kept: dead letters read in the order the requests were made.
  const insertDead = lazy(() =>
    db.prepare<[number, string, number]>(
      'INSERT OR REPLACE INTO dead_letters (seq, target, verb, jail, address, created, refused_at, answer) SELECT seq, target, verb, jail, address, created, ?, ? FROM outbox WHERE seq = ?',
    ),
  );
  const settleAll = lazy(() =>
    db.transaction((acknowledged: readonly number[], refused: readonly { seq: number; answer: string }[], nowMs: number) => {
      for (const { seq, answer } of refused) {
        insertDead().run(nowMs, answer, seq);
        deleteOutbox().run(seq);
      }
      for (const seq of acknowledged) deleteOutbox().run(seq);
    }),
  );
  const countDead = lazy(() => db.prepare<[], { target: string; count: number }>('SELECT target, COUNT(*) AS count FROM dead_letters GROUP BY target'));
  const selectDead = lazy(() =>
    db.prepare<[string, number], DeadLetter>(
      'SELECT seq, target, verb, jail, address, created, refused_at AS refusedAt, answer FROM dead_letters WHERE target = ? ORDER BY seq DESC LIMIT ?',
    ),
  );
  const deleteDead = lazy(() => db.prepare<[string]>('DELETE FROM dead_letters WHERE target = ?'));
  const deleteAllDead = lazy(() => db.prepare<[]>('DELETE FROM dead_letters'));
  const selectDelivered = lazy(() => db.prepare<[string], { id: string }>('SELECT id FROM delivered WHERE id = ?'));
  const insertDelivered = lazy(() => db.prepare<[string, number]>('INSERT OR IGNORE INTO delivered (id, time) VALUES (?, ?)'));
  const selectOutbox = lazy(() =>
    db.prepare<[string, number], Omit<OutboxItem, 'permanent'> & { permanent: number }>(
      'SELECT seq, target, verb, jail, address, created, permanent, tier, reason FROM outbox WHERE target = ? ORDER BY seq LIMIT ?',
    ),
  );
  const deleteOutbox = lazy(() => db.prepare<[number]>('DELETE FROM outbox WHERE seq = ?'));
  const countOutbox = lazy(() => db.prepare<[], { target: string; count: number }>('SELECT target, COUNT(*) AS count FROM outbox GROUP BY target'));
  const enqueueAll = lazy(() =>
    db.transaction((items: readonly Omit<OutboxItem, 'seq' | 'created'>[], nowMs: number) => {
      queue(items, nowMs);
    }),
  );

  return {
    enqueue: (items, nowMs) => {
      if (items.length > 0) guarded(() => enqueueAll().immediate(items, nowMs));
    },
    pending: (target, limit) => guarded(() => selectOutbox().all(target, limit)).map((row) => ({ ...row, permanent: row.permanent === 1 })),
    acknowledge: (seqs) => {
      if (seqs.length > 0) guarded(() => acknowledgeAll().immediate(seqs));
    },
    settle: (acknowledged, refused, nowMs) => {
      if (acknowledged.length > 0 || refused.length > 0) guarded(() => settleAll().immediate(acknowledged, refused, nowMs));
    },
    deadLetterCounts: () =>
      guarded(
        () =>
          new Map(
            countDead()
              .all()
              .map((row) => [row.target, row.count]),
          ),
      ),
    deadLetters: (target, limit) => guarded(() => selectDead().all(target, limit)),
    forgetDeadLetters: (target) => guarded(() => (target === undefined ? deleteAllDead().run() : deleteDead().run(target)).changes),
    outboxSizes: () =>
      guarded(
        () =>
          new Map(
            countOutbox()
              .all()
              .map((row) => [row.target, row.count]),
          ),
      ),
    delivered: (id) => guarded(() => selectDelivered().get(id) !== undefined),
    markDelivered: (id, nowMs) => {
      guarded(() => insertDelivered().run(id, nowMs));
    },
  };
}
