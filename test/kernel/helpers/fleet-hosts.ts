// The hosts of a fleet test: each a namespace of a FleetTopology with its own config, state directory,
// TCP service on port 8080 and `xtban daemon`; the NATS servers in the hub; and what a test reads of a
// host (its store, read-only, and its lists) or does on the broker (fleet-admin.mjs in the hub).
import Database from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track, type Daemon } from './daemon-process.js';
import { FLEET_TEST_PASSWORD } from './fleet-auth.js';
import { nsExec, runXtban, startTcpServer, type FleetTopology } from './netns.js';
import { sleep, spawnXtban } from './work.js';

export const SERVICE_PORT = 8080;
export const SAFE_ADDRESS = '203.0.113.250';
const ADMIN = fileURLToPath(new URL('./fleet-admin.mjs', import.meta.url));

export interface FleetHost {
  name: string;
  ns: string;
  address: string;
  config: string;
  stateDir: string;
  authLog: string;
  daemon: Daemon | undefined;
  xtban(...args: string[]): ReturnType<typeof runXtban>;
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  // Open bans of the jail in the store, address to source.
  bans(): Map<string, string>;
  // Ban events of the jail in the store, in order: address and source.
  banEvents(): { address: string; source: string; action: string }[];
  // Everything the daemon printed since it last started.
  output(): string;
}

export interface HostOptions {
  servers: string[];
  // A log source on this host (sshd lines in authLog, one failure bans).
  logSource?: boolean;
  retention?: string;
}

export function hostConfig(name: string, dir: string, options: HostOptions): string {
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${FLEET_TEST_PASSWORD}\n`, { mode: 0o600 });
  const lines = [
    '[safelist]',
    'own_addresses = true',
    `addresses = ["${SAFE_ADDRESS}"]`,
    '',
    '[daemon]',
    'check_interval = "1s"',
    '',
    '[fleet]',
    `name = "${name}"`,
    `servers = [${options.servers.map((server) => JSON.stringify(server)).join(', ')}]`,
    `user = "${name}"`,
    `password_file = "${passwordFile}"`,
    ...(options.retention === undefined ? [] : [`retention = "${options.retention}"`]),
    '',
    '[jails.web]',
    `ports = [${SERVICE_PORT}]`,
    'window = "1h"',
    'capacity = 4000',
    'maxretry = 1',
    'fleet = true',
  ];
  if (options.logSource) lines.push('[[jails.web.sources]]', 'type = "file"', `path = "${join(dir, 'auth.log')}"`, 'filter = "sshd"');
  return `${lines.join('\n')}\n`;
}

export async function makeHost(topology: FleetTopology, index: number, work: string, options: HostOptions): Promise<FleetHost> {
  const name = `h${index}`;
  const ns = topology.hosts[index - 1] as string;
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'xtban.toml');
  writeFileSync(config, hostConfig(name, dir, options));
  writeFileSync(join(dir, 'auth.log'), '');
  const stateDir = join(dir, 'state');
  const xtban = (...args: string[]) => runXtban(ns, ['--config', config, '--state-dir', stateDir, ...args]);
  const applied = await xtban('apply');
  if (applied.exitCode !== 0) throw new Error(`apply on ${name} failed: ${applied.stderr}`);
  await startTcpServer(ns, SERVICE_PORT);
  let output = '';
  let child: ChildProcess | undefined;
  const openStore = () => new Database(join(stateDir, 'bans.sqlite'), { readonly: true, fileMustExist: true });
  const read = <T>(query: (db: Database.Database) => T, empty: T): T => {
    let db: Database.Database | undefined;
    try {
      db = openStore();
      return query(db);
    } catch {
      return empty;
    } finally {
      db?.close();
    }
  };
  const host: FleetHost = {
    name,
    ns,
    address: topology.hostAddress(index),
    config,
    stateDir,
    authLog: join(dir, 'auth.log'),
    daemon: undefined,
    xtban,
    async start() {
      output = '';
      child = spawnXtban(ns, ['--config', config, '--state-dir', stateDir, '--log-format', 'json', 'daemon'], {
        onOutput: (text) => {
          if (output.length < 200_000) output += text;
        },
      });
      const running = child;
      host.daemon = track(`xtban daemon ${name}`, running);
      const started = Date.now();
      while (!/following the fleet from decision/.test(output)) {
        if (Date.now() - started > 20_000) throw new Error(`${name}'s daemon did not follow the fleet: ${output.slice(-3000)}`);
        if (running.exitCode !== null) throw new Error(`${name}'s daemon exited: ${output.slice(-3000)}`);
        await sleep(50);
      }
    },
    async stop() {
      await host.daemon?.stop();
      host.daemon = undefined;
    },
    async kill() {
      const daemon = host.daemon;
      host.daemon = undefined;
      if (daemon === undefined) return;
      // `ip netns exec` execs the daemon: the child's pid is the daemon's.
      child?.kill('SIGKILL');
      await daemon.exited;
    },
    bans: () =>
      read(
        (db) =>
          new Map(
            db
              .prepare<[], { address: string; source: string }>("SELECT address, source FROM bans WHERE jail = 'web' AND ended_at IS NULL")
              .all()
              .map((row) => [row.address, row.source]),
          ),
        new Map<string, string>(),
      ),
    banEvents: () =>
      read(
        (db) =>
          db
            .prepare<[], { address: string; source: string; action: string }>(
              "SELECT address, source, action FROM events WHERE jail = 'web' AND action IN ('ban', 'repeat', 'refresh', 'unban') ORDER BY id",
            )
            .all(),
        [],
      ),
    output: () => output,
  };
  return host;
}

// Polls until check() holds; returns the time it took, or throws with what was awaited.
export async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 10_000, everyMs = 10): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(everyMs);
  }
}

// One broker command from inside the hub (fleet-admin.mjs), as the admin unless another user is given.
export async function brokerAdmin(hub: string, servers: readonly string[], command: Record<string, unknown>, user = 'admin'): Promise<Record<string, unknown>> {
  const result = await nsExec(hub, process.execPath, [ADMIN, JSON.stringify({ servers, user, password: FLEET_TEST_PASSWORD, ...command })], {
    timeoutMs: 30_000,
  });
  if (result.exitCode !== 0) throw new Error(`fleet-admin ${JSON.stringify(command).slice(0, 200)} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

// Many addresses for bans that need no packet: from 2001:db8:f1::/64 (documentation), one per number.
export function manyAddresses(count: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, index) => `2001:db8:f1::${(index + offset + 1).toString(16)}`);
}
