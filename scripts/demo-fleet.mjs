#!/usr/bin/env node
// npm run demo:fleet: three hosts that share bans through NATS JetStream, narrated. Each host is a
// throwaway network namespace with its own xtban daemon, store and kernel lists; a hub namespace holds
// the bridge between them, a nats-server with JetStream, and the attacker's addresses. Nothing outside
// them is touched, and everything is removed at the end, on error and on Ctrl-C.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'main.js');
const suffix = `${process.pid % 100000}`;
const hub = `xtb-demo-hub-${suffix}`;
const HUB = '198.51.100.1';
const ATTACKER = '203.0.113.66';
const SECOND = '203.0.113.77';
const PORT = 2222;
const work = mkdtempSync(join(tmpdir(), 'xtban-demo-fleet-'));
const children = [];
const started = Date.now();
const hosts = [1, 2, 3].map((number) => ({
  name: `host${number}`,
  ns: `xtb-demo-h${number}-${suffix}`,
  address: `198.51.100.${10 + number}`,
  dir: join(work, `host${number}`),
  daemon: undefined,
}));

const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const say = (text) => console.log(`\n${bold(`[${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s] ${text}`)}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Synchronous, so that it also runs from a signal handler or on exit.
function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  for (const ns of [hub, ...hosts.map((host) => host.ns)]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.log(`\n${signal}: cleaning up`);
    cleanup();
    process.exit(130);
  });
}

const ip = (args, input) => execa('ip', args, input === undefined ? {} : { input });
const inNs = (ns, command, args, options = {}) => execa('ip', ['netns', 'exec', ns, command, ...args], { reject: false, ...options });
const config = (host) => join(host.dir, 'xtban.toml');
const state = (host) => join(host.dir, 'state');

async function xtban(host, ...args) {
  console.log(`  ${host.name}$ xtban ${args.join(' ')}`);
  const result = await inNs(host.ns, process.execPath, [cli, '--config', config(host), '--state-dir', state(host), ...args], { all: true });
  if (result.all) console.log(result.all.replace(/^/gm, '    '));
  if (result.exitCode !== 0 && args[0] !== 'fleet') throw new Error(`xtban ${args[0]} on ${host.name} exited ${result.exitCode}`);
}

// One TCP connection attempt from an attacker address in the hub: "open", "dropped" or "refused".
async function connect(host, from) {
  const code = `const s=require('net').connect({host:'${host.address}',port:${PORT},localAddress:'${from}'});s.setTimeout(300);s.on('connect',()=>{console.log('open');s.destroy()});s.on('timeout',()=>{console.log('dropped');s.destroy()});s.on('error',e=>console.log(e.code==='ECONNREFUSED'?'refused':e.code))`;
  return (await inNs(hub, process.execPath, ['-e', code])).stdout.trim();
}

async function expectFrom(from, expected, which = hosts) {
  for (const host of which) {
    const outcome = await connect(host, from);
    console.log(`  ${from} -> ${host.name} (${host.address}:${PORT}): ${outcome}${outcome === expected ? '' : `   EXPECTED ${expected}`}`);
    if (outcome !== expected) throw new Error(`connection to ${host.name} was ${outcome}, expected ${expected}`);
  }
}

async function startDaemon(host) {
  const daemon = execa('ip', ['netns', 'exec', host.ns, process.execPath, cli, '--config', config(host), '--state-dir', state(host), 'daemon'], {
    reject: false,
    all: true,
  });
  children.push(daemon);
  host.daemon = daemon;
  let output = '';
  daemon.all.on('data', (chunk) => (output += chunk.toString()));
  for (let waited = 0; !output.includes('following the fleet from decision'); waited += 50) {
    if (waited > 30_000) throw new Error(`${host.name}'s daemon did not start:\n${output}`);
    await sleep(50);
  }
  const line = output.split('\n').find((text) => text.includes('following the fleet'));
  console.log(`  ${host.name}: ${/following the fleet[^)]*\)/.exec(line ?? '')?.[0] ?? 'following the fleet'}`);
}

async function stopDaemon(host) {
  host.daemon?.kill('SIGTERM');
  await host.daemon;
  host.daemon = undefined;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the fleet demo needs root (network namespaces and iptables)');
  say('Four throwaway network namespaces: a hub (198.51.100.1) with a bridge, and host1-3 (198.51.100.11-13) joined to it');
  await execa('ip', ['netns', 'add', hub]);
  await ip(['-n', hub, '-batch', '-'], ['link set lo up', 'link add br0 type bridge', `addr add ${HUB}/24 dev br0`, `addr add ${ATTACKER}/32 dev br0`, `addr add ${SECOND}/32 dev br0`, 'link set br0 up'].join('\n'));
  for (const [index, host] of hosts.entries()) {
    await execa('ip', ['netns', 'add', host.ns]);
    await ip(['-n', hub, '-batch', '-'], [`link add p${index + 1} type veth peer name fleet netns ${host.ns}`, `link set p${index + 1} master br0`, `link set p${index + 1} up`].join('\n'));
    await ip(['-n', host.ns, '-batch', '-'], ['link set lo up', `addr add ${host.address}/24 dev fleet`, 'link set fleet up', `route add default via ${HUB}`].join('\n'));
  }
  console.log(`  the attacker's addresses ${ATTACKER} and ${SECOND} are on the hub too`);

  say('A nats-server with JetStream in the hub: the fleet shares its decisions through it');
  mkdirSync(join(work, 'jetstream'));
  writeFileSync(join(work, 'nats.conf'), `listen: "${HUB}:4222"\njetstream { store_dir: "${join(work, 'jetstream')}" }\n`);
  const nats = execa('ip', ['netns', 'exec', hub, 'nats-server', '-c', join(work, 'nats.conf')], { reject: false });
  children.push(nats);
  const listening = `require('net').connect(4222,'${HUB}').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`;
  for (let tries = 0; (await inNs(hub, process.execPath, ['-e', listening])).exitCode !== 0; tries++) {
    if (tries > 100) throw new Error('nats-server did not start');
    await sleep(100);
  }
  console.log(`  nats://${HUB}:4222, JetStream on ${join(work, 'jetstream')}`);

  say(`Each host: a service on tcp/${PORT}, a jail "ssh" that shares (fleet = true), its own store; host1 reads its auth log`);
  for (const [index, host] of hosts.entries()) {
    mkdirSync(host.dir);
    writeFileSync(join(host.dir, 'auth.log'), '');
    const source = index === 0 ? `[[jails.ssh.sources]]\ntype = "file"\npath = "${join(host.dir, 'auth.log')}"\nfilter = "sshd"\n` : '';
    writeFileSync(
      config(host),
      `[fleet]\nname = "${host.name}"\nservers = ["nats://${HUB}:4222"]\n\n[jails.ssh]\nports = [${PORT}]\nwindow = "1h"\nfamily = "ipv4"\nmaxretry = 3\nfleet = true\n${source}`,
    );
    const server = execa('ip', ['netns', 'exec', host.ns, process.execPath, '-e', `require('net').createServer(s=>{s.on('error',()=>{});s.end('hello\\n')}).listen(${PORT})`], {
      reject: false,
    });
    children.push(server);
  }
  console.log(`  ${config(hosts[1])}:\n    [fleet]  name = "host2"  servers = ["nats://${HUB}:4222"]\n    [jails.ssh]  ports = [${PORT}]  window = "1h"  maxretry = 3  fleet = true`);
  for (const host of hosts) await xtban(host, 'apply');
  for (const host of hosts) await startDaemon(host);

  say('Before any ban the attacker reaches every host');
  await expectFrom(ATTACKER, 'open');

  say(`The attacker fails three logins on host1: host1's daemon bans it and publishes the ban`);
  const line = `Nov 21 02:33:01 host1 sshd[1201]: Failed password for root from ${ATTACKER} port 52311 ssh2\n`;
  const banAt = Date.now();
  for (let i = 0; i < 3; i++) appendFileSync(join(hosts[0].dir, 'auth.log'), line);
  // Every host is asked at once, again and again; a connection that is dropped counts from when it began.
  await Promise.all(
    hosts.map(async (host) => {
      for (;;) {
        const asked = Date.now();
        if ((await connect(host, ATTACKER)) === 'dropped') {
          console.log(`  ${host.name} drops ${ATTACKER}: a connection tried ${asked - banAt} ms after the third failure got no answer`);
          return;
        }
        if (Date.now() - banAt > 5000) throw new Error(`${host.name} did not drop the attacker`);
      }
    }),
  );
  await expectFrom(ATTACKER, 'dropped');
  await xtban(hosts[1], 'fleet', 'status');

  say('host3 goes down; meanwhile host2 bans a second attacker by hand');
  await stopDaemon(hosts[2]);
  console.log('  host3: daemon stopped');
  await xtban(hosts[1], 'ban', SECOND, '--jail', 'ssh', '--reason', 'scanner');
  await sleep(500);
  await expectFrom(SECOND, 'dropped', hosts.slice(0, 2));
  await expectFrom(SECOND, 'open', hosts.slice(2));
  console.log('  host3 knows nothing of it yet: its daemon is down');

  say('host3 comes back: it catches up from the last decision it applied, kept in its store');
  await startDaemon(hosts[2]);
  for (let waited = 0; (await connect(hosts[2], SECOND)) !== 'dropped'; waited += 300) {
    if (waited > 10_000) throw new Error('host3 did not catch up');
  }
  await expectFrom(SECOND, 'dropped');
  await xtban(hosts[2], 'fleet', 'status');

  say('Teardown on every host; then the namespaces go');
  for (const host of hosts) await stopDaemon(host);
  for (const host of hosts) await xtban(host, 'teardown');
}

try {
  await main();
  say('Done: nothing is left behind');
} catch (error) {
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
