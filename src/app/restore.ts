import { readJailLists } from './jail-lists.js';
import { planRestore, type KernelView, type RestorePlan } from '../core/restore.js';
import type { JailConfig } from '../core/domain.js';
import type { Ports } from './ports.js';
import { displacedEvent, evictedEvent, movedEvent, performWrites } from './ban-pipeline.js';
import { defaultWordBits } from '../adapters/kernel-clock.js';

// The store's note that its bans sit in their keyed shards (set after the one move from the old hash).

// Reads every list of these jails once: the canonical addresses it holds and when each was last seen,
// or undefined when missing.
export async function readKernelView(context: Ports, jails: readonly JailConfig[]): Promise<KernelView> {
  const lists = await readJailLists(context, jails);
  return new Map(lists.map(({ slot, entries }) => [slot.name, entries && new Map(entries.map((entry) => [entry.address, entry.lastSeen]))]));
}

export interface RestoreReport {
  plan: RestorePlan;
  restored: number;
  // Time spent reading the lists, planning and writing, without process start or config loading.
  elapsedMs: number;
  failed: { jail: string; address: string; list: string; error: string }[];
}

// Puts every live ban of the store back into its list, skipping what is already there: idempotent.
export async function restoreBans(context: Ports, jails: readonly JailConfig[]): Promise<RestoreReport> {
  const started = performance.now();
  const kernel = await readKernelView(context, jails);
  // Every jail: bans of jails no longer configured are reported too. One jail: only its bans.
  const only = jails.length === 1 && context.config.jails.length > 1 ? jails[0]?.name : undefined;
  const store = context.store();
  const bans = store.open(only);
  const plan = planRestore({
    jails,
    layouts: context.layouts,
    bans,
    kernel,
    capacity: context.parameters.ipListTot,
    safelist: context.safelist,
    nowMs: Date.now(),
    wordBits: defaultWordBits(),
    clock: context.kernelClock(),
  });
  const outcomes = performWrites(context.lists, plan.writes);
  const failed = outcomes.filter((outcome) => !outcome.ok).map(({ jail, address, list, error }) => ({ jail, address, list, error: error ?? 'failed' }));
  const moves = new Set(plan.moved.map((move) => `${move.jail} ${move.address}`));
  // The bans written back (a move to a ban's own shard is not one).
  const putBack = outcomes.filter((outcome) => outcome.ok && outcome.command.startsWith('+') && !moves.has(`${outcome.jail} ${outcome.address}`));
  const restored = putBack.length;
  const elapsedMs = performance.now() - started;
  const now = Date.now();
  store.note([
    ...putBack.map((outcome) => ({
      time: now,
      jail: outcome.jail,
      address: outcome.address,
      action: 'restored' as const,
      source: 'restore',
      detail: outcome.list,
    })),
    ...plan.evicts.map((evict) => (evict.displaced ? displacedEvent : evictedEvent)(evict.jail, evict.address, evict.list, evict.by, 'restore', now)),
    ...plan.spilled.map((spill) => movedEvent(spill.jail, spill.address, spill.list, spill.preferred, 'restore', now)),
    ...plan.moved.map((move) => ({
      time: now,
      jail: move.jail,
      address: move.address,
      action: 'rehomed' as const,
      source: 'restore',
      detail: `from ${move.from} to ${move.to}, a list its packets meet`,
    })),
  ]);
  context.log.child({ component: 'restore' }).info(
    {
      step: 'restore',
      restored,
      alreadyPresent: plan.alreadyPresent,
      missing: plan.missing.length,
      noRoom: plan.noRoom.length,
      evicted: plan.evicts.length,
      moved: plan.moved.length,
      safelisted: plan.skippedSafelisted.length,
      failed: failed.length,
    },
    'restore done',
  );
  return { plan, restored, failed, elapsedMs };
}
