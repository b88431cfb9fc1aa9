// How a decision received from the fleet is told apart from this host's own: by its source, a pure rule
// shared by the ban plan, placement, restore and the fleet's use cases.

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
