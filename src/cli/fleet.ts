import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonRunning } from '../adapters/daemon-lock.js';
import { collectFleetStatus, FLEET_STATUS_FILE, type FleetLive } from '../app/fleet.js';
import { stateDirOf } from '../app/remote.js';
import { ExitCode, inputError } from '../core/errors.js';
import type { FleetStatusOptions } from './commands.js';
import { kernelContext } from './context.js';
import { renderTable } from './output.js';

// What the running daemon last wrote of its connection, or undefined when no daemon runs here.
function daemonView(stateDir: string): FleetLive | undefined {
  if (!daemonRunning(stateDir)) return undefined;
  try {
    return JSON.parse(readFileSync(join(stateDir, FLEET_STATUS_FILE), 'utf8')) as FleetLive;
  } catch {
    return undefined;
  }
}

const ago = (ms: number, now: number) => `${Math.max(0, Math.round((now - ms) / 1000))}s ago`;

// `xtban fleet status`: connection and server, stream position and lag, each origin's last decision,
// the outbox and the refusals. Exit 1 while not connected or with decisions waiting.
export async function fleetStatusCommand(options: FleetStatusOptions): Promise<number> {
  const context = await kernelContext(options);
  try {
    const live = daemonView(stateDirOf(context));
    const status = collectFleetStatus(context, live);
    if (status === undefined)
      throw inputError(`no [fleet] in ${context.config.source}`, 'add [fleet] with name and servers, and fleet = true to the jails that share');
    context.out.result(status);
    const now = Date.now();
    const connection =
      live === undefined
        ? 'no daemon runs: `xtban daemon` connects and follows the fleet'
        : live.connected
          ? `connected to ${live.server ?? 'a server'}`
          : `NOT connected${live.lastError ? ` (${live.lastError})` : ''}: local bans go on, decisions wait in the outbox`;
    context.out.line(`fleet ${status.name}: ${connection}`);
    context.out.line(`servers: ${status.servers.join(', ')}`);
    context.out.line(`shared jails: ${status.sharedJails.join(', ') || 'none (set fleet = true in a jail)'}`);
    context.out.line(
      `position: ${status.position}${live === undefined ? '' : ` of ${live.streamLast} (lag ${status.lag ?? 0}); the stream keeps decisions from ${live.streamFirst}${live.retentionSeconds ? ` for ${live.retentionSeconds}s` : ''}`}`,
    );
    if (status.retentionShort)
      context.out.note(`  warning: the stream keeps decisions less than the longest shared window; a host away longer resyncs from the live bans`);
    context.out.line(`outbox: ${status.outbox} decision(s) of this host waiting to be stored by JetStream`);
    if (status.resyncs > 0) context.out.line(`resyncs from the live bans: ${status.resyncs}`);
    if (status.origins.length > 0) {
      context.out.line(
        renderTable([
          ['ORIGIN', 'LAST SEQ', 'DECIDED', 'APPLIED HERE', 'DECISIONS'],
          ...status.origins.map((origin) => [
            origin.origin,
            String(origin.seq),
            new Date(origin.at).toISOString(),
            ago(origin.receivedAt, now),
            String(origin.applied),
          ]),
        ]),
      );
    } else context.out.line('no decision received from another host yet');
    const refused = Object.entries(status.refused);
    context.out.line(`refused: ${refused.length === 0 ? 'none' : refused.map(([reason, count]) => `${reason} ${count}`).join(', ')}`);
    return live?.connected === true && status.outbox === 0 ? ExitCode.ok : ExitCode.partial;
  } finally {
    context.closeStore();
  }
}
