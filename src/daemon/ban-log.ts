import type { BanOrigin, WriteOutcome } from '../cli/ban-service.js';
import type { BanDecision } from '../core/bans.js';

export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  fields: object;
  message: string;
}

// What a source's ban says in the log: one "banned" line per new or repeated ban. A live ban seen again
// is refreshed in the kernel and the store, which is not news (debug); the -ADDR that takes a ban that
// moved up a tier out of the list it left is part of the same ban (said only when it fails).
export function banLogLines(jail: string, origin: BanOrigin, decisions: readonly BanDecision[], outcomes: readonly WriteOutcome[]): LogLine[] {
  const refreshed = new Set(decisions.filter((decision) => decision.kind === 'refresh').map((decision) => decision.record.address));
  const lines: LogLine[] = [];
  for (const outcome of outcomes) {
    const fields = { jail, address: outcome.address, list: outcome.list };
    if (!outcome.command.startsWith('+')) {
      if (!outcome.ok) lines.push({ level: 'warn', fields: { ...fields, error: outcome.error }, message: `${outcome.address} could not be taken out of ${outcome.list} after moving up a tier` });
    } else if (!outcome.ok) {
      lines.push({ level: 'error', fields: { ...fields, error: outcome.error }, message: `ban of ${outcome.address} in jail ${jail} failed (recorded; restore retries)` });
    } else if (refreshed.has(outcome.address)) {
      lines.push({ level: 'debug', fields: { ...fields, source: origin.source }, message: `${outcome.address} still banned in jail ${jail}: refreshed` });
    } else {
      lines.push({ level: 'info', fields: { ...fields, source: origin.source, reason: origin.reason }, message: `banned ${outcome.address} in jail ${jail}${origin.reason ? ` (${origin.reason})` : ''}` });
    }
  }
  return lines;
}
