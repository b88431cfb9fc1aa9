import { FLEET_TARGET, type OutboxItem } from '../adapters/ban-store.js';
import type { BanDecision } from '../core/bans.js';
import type { JailConfig } from '../core/domain.js';
import { isFleetSource } from '../core/fleet.js';
import { daemonRunning } from '../adapters/daemon-lock.js';
import type { Ports } from './ports.js';
import { stateDirOf } from './remote.js';

// What the ban paths queue for the fleet, as app/remote.ts does for central firewalls: kept apart from
// app/fleet.ts (the decoder, zod), so that `xtban ban` loads nothing of the fleet's wire format.

// The outbox items that tell the fleet of these ban decisions: first bans and repeat offences in
// shared jails, and a live ban made permanent; a refresh of a live ban is the kernel's to keep (every
// host's sliding window stays its own). Nothing for a decision that came from the fleet.
export function fleetBanItems(jails: readonly JailConfig[], decisions: readonly BanDecision[], source: string): Omit<OutboxItem, 'seq' | 'created'>[] {
  if (isFleetSource(source)) return [];
  const shared = new Set(jails.filter((jail) => jail.fleet).map((jail) => jail.name));
  return decisions
    .filter((decision) => shared.has(decision.record.jail))
    .filter((decision) => decision.kind !== 'refresh' || (decision.record.permanent && decision.previousPermanent === false))
    .map((decision) => ({
      target: FLEET_TARGET,
      verb: 'ban' as const,
      jail: decision.record.jail,
      address: decision.record.address,
      permanent: decision.record.permanent,
      tier: decision.record.tier,
      reason: decision.record.reason,
    }));
}

// Tells the fleet of an unban in a shared jail, unless the unban came from the fleet.
export function enqueueFleetUnbans(context: Ports, jail: JailConfig, addresses: readonly string[], source: string): void {
  if (context.config.fleet === undefined || !jail.fleet || isFleetSource(source) || addresses.length === 0) return;
  context.store().enqueue(
    addresses.map((address) => ({ target: FLEET_TARGET, verb: 'unban' as const, jail: jail.name, address })),
    Date.now(),
  );
}

// What a command that queued decisions for the fleet says when no daemon runs on its state directory:
// the daemon publishes them, and until one runs they only wait.
export function fleetOutboxNote(context: Ports): string | undefined {
  if (context.config.fleet === undefined) return undefined;
  const waiting = context.store().outboxSizes().get(FLEET_TARGET) ?? 0;
  if (waiting === 0 || daemonRunning(stateDirOf(context))) return undefined;
  return `${waiting} decision(s) wait in the outbox for the fleet: \`xtban daemon\` publishes them, and none runs on this state directory`;
}
