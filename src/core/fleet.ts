import type { OutboxItem } from '../adapters/ban-store.js';
import type { BanDecision } from './bans.js';
import type { JailConfig } from './domain.js';

// Which of a host's decisions the fleet hears of, and how a decision received from it is told apart:
// pure rules shared by the ban pipeline, the publisher and the receiver.

const FLEET_SOURCE = 'fleet';

// The source of a ban another host of the fleet made: "fleet:<origin>".
export function fleetSource(origin: string): string {
  return `${FLEET_SOURCE}:${origin}`;
}

// True for a decision that came from the fleet: it is applied here and never published again (no loop,
// no echo), and a received permanent ban takes no live ban's place in a full list.
export function isFleetSource(source: string): boolean {
  return source.startsWith(`${FLEET_SOURCE}:`);
}

// The outbox items that tell the fleet of these ban decisions: first bans and repeat offences in
// shared jails, and a live ban made permanent; a refresh of a live ban is the kernel's to keep (every
// host's sliding window stays its own). Nothing for a decision that came from the fleet.
export function fleetBanItems(
  jails: readonly JailConfig[],
  decisions: readonly BanDecision[],
  source: string,
  target: string,
): Omit<OutboxItem, 'seq' | 'created'>[] {
  if (isFleetSource(source)) return [];
  const shared = new Set(jails.filter((jail) => jail.fleet).map((jail) => jail.name));
  return decisions
    .filter((decision) => shared.has(decision.record.jail))
    .filter((decision) => decision.kind !== 'refresh' || (decision.record.permanent && decision.previousPermanent === false))
    .map((decision) => ({
      target,
      verb: 'ban' as const,
      jail: decision.record.jail,
      address: decision.record.address,
      permanent: decision.record.permanent,
      tier: decision.record.tier,
      reason: decision.record.reason,
    }));
}
