import type { BanOrigin, WriteOutcome } from '../app/ban-pipeline.js';
import type { BanDecision } from '../core/bans.js';
import type { Placements } from '../core/list-commands.js';

export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  fields: object;
  message: string;
}

// What a source's ban says in the log: one "banned" line per new or repeated ban. A live ban seen again
// is refreshed in the kernel and the store, which is not news (debug); the -ADDR that takes a ban that
// moved up a tier out of the list it left is part of the same ban (said only when it fails).
export function banLogLines(
  jail: string,
  origin: BanOrigin,
  decisions: readonly BanDecision[],
  outcomes: readonly WriteOutcome[],
  placements: Placements = new Map(),
): LogLine[] {
  const refreshed = new Set(decisions.filter((decision) => decision.kind === 'refresh').map((decision) => decision.record.address));
  const lines: LogLine[] = [];
  for (const decision of decisions) {
    const { address } = decision.record;
    const placement = placements.get(`${jail} ${address}`);
    if (placement?.kind === 'full') {
      lines.push({
        level: 'warn',
        fields: { jail, address, lists: placement.lists, source: origin.source },
        message: `${address} not placed in jail ${jail}: the lists its packets meet are full of live bans (recorded, enforced once there is room; raise capacity)`,
      });
    } else if (placement?.kind === 'placed' && placement.evicts !== undefined && placement.displaces) {
      lines.push({
        level: 'warn',
        fields: { jail, address, list: placement.list, displaced: placement.evicts },
        message: `${placement.list} was full: the permanent ban ${address} took the place of ${placement.evicts}, a ban that ends (kept in the store, put back when there is room)`,
      });
    } else if (placement?.kind === 'placed' && placement.evicts !== undefined) {
      lines.push({
        level: 'info',
        fields: { jail, address, list: placement.list, evicted: placement.evicts },
        message: `${placement.list} was full: ${placement.evicts} (not a live ban) made room for ${address}`,
      });
    }
  }
  for (const outcome of outcomes) {
    const fields = { jail, address: outcome.address, list: outcome.list };
    if (!outcome.command.startsWith('+')) {
      if (!outcome.ok)
        lines.push({
          level: 'warn',
          fields: { ...fields, error: outcome.error },
          message: `${outcome.address} could not be taken out of ${outcome.list} after moving up a tier`,
        });
    } else if (!outcome.ok) {
      lines.push({
        level: 'error',
        fields: { ...fields, error: outcome.error },
        message: `ban of ${outcome.address} in jail ${jail} failed (recorded; restore retries)`,
      });
    } else if (refreshed.has(outcome.address)) {
      lines.push({ level: 'debug', fields: { ...fields, source: origin.source }, message: `${outcome.address} still banned in jail ${jail}: refreshed` });
    } else {
      const placement = placements.get(`${jail} ${outcome.address}`);
      const moved = placement?.kind === 'placed' && placement.moved ? `; its own shard ${placement.preferred} is full` : '';
      lines.push({
        level: 'info',
        fields: { ...fields, source: origin.source, reason: origin.reason },
        message: `banned ${outcome.address} in jail ${jail}${origin.reason ? ` (${origin.reason})` : ''}${moved ? ` (list ${outcome.list}${moved})` : ''}`,
      });
    }
  }
  return lines;
}
