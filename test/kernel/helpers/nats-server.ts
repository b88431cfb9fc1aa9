// A real nats-server with JetStream on a temp directory, started by a test and stopped by it (killed
// with its namespace otherwise): on loopback, or inside a namespace the test made.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { sleep } from './work.js';

export interface NatsServer {
  url: string;
  host: string;
  port: number;
  // SIGTERM and wait; start() brings it back on the same port and store.
  stop(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  log: () => string;
}

export interface NatsServerOptions {
  dir: string;
  host?: string;
  port: number;
  // Runs it inside this network namespace (ip netns exec).
  ns?: string;
  // A cluster member: its route port and the others' routes.
  cluster?: { name: string; port: number; routes: string[] };
  // Inserted as written: accounts, authorization...
  extra?: string;
}

function reachable(host: string, port: number, ns: string | undefined): Promise<boolean> {
  if (ns !== undefined) {
    return new Promise((resolve) => {
      const probe = spawn('ip', [
        'netns',
        'exec',
        ns,
        process.execPath,
        '-e',
        `require('net').connect(${port},'${host}').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`,
      ]);
      probe.on('exit', (code) => resolve(code === 0));
    });
  }
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export async function startNatsServer(options: NatsServerOptions): Promise<NatsServer> {
  const host = options.host ?? '127.0.0.1';
  mkdirSync(join(options.dir, 'jetstream'), { recursive: true });
  const config = join(options.dir, 'nats.conf');
  const cluster =
    options.cluster === undefined
      ? ''
      : `server_name: ${options.cluster.name}\ncluster {\n  name: xtban-test\n  listen: ${host}:${options.cluster.port}\n  routes: [${options.cluster.routes.map((route) => JSON.stringify(route)).join(', ')}]\n}\n`;
  writeFileSync(
    config,
    `listen: ${JSON.stringify(`${host}:${options.port}`)}\njetstream {\n  store_dir: ${JSON.stringify(join(options.dir, 'jetstream'))}\n  max_memory_store: 64MB\n  max_file_store: 1GB\n}\n${cluster}${options.extra ?? ''}\n`,
  );
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    const command = options.ns === undefined ? ['nats-server', ['-c', config]] : ['ip', ['netns', 'exec', options.ns, 'nats-server', '-c', config]];
    child = spawn(command[0] as string, command[1] as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = Date.now();
    while (!(await reachable(host, options.port, options.ns))) {
      if (child.exitCode !== null) throw new Error(`nats-server exited: ${output.slice(-2000)}`);
      if (Date.now() - started > 15_000) throw new Error(`nats-server did not listen on ${host}:${options.port}: ${output.slice(-2000)}`);
      await sleep(50);
    }
  };
  const end = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.on('exit', resolve));
    running.kill(signal);
    await Promise.race([exited, sleep(10_000)]);
    if (running.exitCode === null && running.signalCode === null) running.kill('SIGKILL');
  };
  await start();
  return {
    url: `nats://${host.includes(':') ? `[${host}]` : host}:${options.port}`,
    host,
    port: options.port,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    start,
    log: () => output,
  };
}
