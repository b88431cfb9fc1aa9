import { effectiveTier, expiresAt, isLive, tierWindowSeconds, type BanRecord } from '../core/bans.js';
import type { BansOptions } from './commands.js';
import { formatDuration } from '../core/duration.js';
import { ExitCode } from '../core/errors.js';
import { selectJails } from '../core/jail-selection.js';
import { reachableSlots } from '../core/placement.js';
import { kernelContext } from './context.js';
import { renderTable } from './output.js';
import { readKernelView } from '../app/restore.js';

type BanState = 'live' | 'permanent' | 'expired' | 'ended';

function stateOf(record: BanRecord, windowSeconds: number, nowMs: number): BanState {
  if (record.endedAt !== null) return 'ended';
  if (record.permanent) return 'permanent';
  return isLive(record, windowSeconds, nowMs) ? 'live' : 'expired';
}

function shortTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

// `xtban bans`: the store's view of every ban, including those the kernel no longer holds.
export async function bansCommand(options: BansOptions): Promise<number> {
  const context = await kernelContext(options);
  try {
    const { out, config, layouts } = context;
    const jails = selectJails(config, options.jail);
    const kernel = await readKernelView(context, jails);
    const now = Date.now();
    const rows = jails.flatMap((jail) =>
      context
        .store()
        .list(jail.name)
        .map((record) => {
          const tier = effectiveTier(record.tier, jail.tierWindows);
          const window = tierWindowSeconds(record.tier, jail.tierWindows);
          const state = stateOf(record, window, now);
          const layout = layouts.get(jail.name);
          // Its own shard or the tier's spill list, the lists its packets meet (another shard's entry
          // would not stop them).
          const slot =
            layout &&
            reachableSlots(layout, { family: record.family, text: record.address }, tier).find((candidate) => kernel.get(candidate.name)?.has(record.address));
          const inKernel = slot !== undefined;
          const expires = state === 'live' ? expiresAt(record, window) : null;
          return { ...record, state, windowSeconds: window, expiresAt: expires, list: slot?.name ?? null, inKernel };
        }),
    );
    const shown = options.state === undefined ? rows : rows.filter((row) => row.state === options.state);
    out.result({ bans: shown, store: context.store().location });
    if (shown.length === 0) {
      out.line(`no bans${options.state ? ` in state ${options.state}` : ''} in ${context.store().location}`);
      return ExitCode.ok;
    }
    // The table is built only for people: with --json it would be thrown away.
    if (!out.json) {
      const table = [
        ['JAIL', 'ADDRESS', 'STATE', 'KERNEL', 'BANNED', 'LAST ACTIVITY', 'EXPIRES IN', 'OFFENCES', 'TIER', 'SOURCE', 'REASON'],
        ...shown.map((row) => [
          row.jail,
          row.address,
          row.state,
          row.inKernel ? 'yes' : 'no',
          shortTime(row.bannedAt),
          shortTime(row.lastActivity),
          row.expiresAt === null ? '-' : formatDuration((row.expiresAt - now) / 1000, 'ceil'),
          String(row.offences),
          String(row.tier + 1),
          row.source,
          row.reason ?? '',
        ]),
      ];
      out.line(renderTable(table, { alignRight: [6, 7, 8] }));
    }
    const missing = shown.filter((row) => (row.state === 'live' || row.state === 'permanent') && !row.inKernel).length;
    if (missing > 0) out.note(`${missing} live ban(s) are not in the kernel: \`xtban restore\` puts them back`);
    return ExitCode.ok;
  } finally {
    context.closeStore();
  }
}
