// The fleet figure of npm run bench: N hosts, each a network namespace with its own `xtban daemon`, state
// directory and kernel lists, joined by a bridge in a hub namespace where one nats-server with JetStream
// runs. Propagation: a failure line appended to host 1's log, from the ban in host 1's kernel list to the
// entry in every other host's (the next packet from the address is dropped there). Catch-up: a host
// stopped while 10,000 decisions are made, then started, until its store holds them all.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { addNamespaces, execIn, namespaceName } from '../test/kernel/helpers/netns-core.mjs';

const HUB = '198.51.100.1';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, limitMs, everyMs = 20) {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(everyMs);
  }
}

function openCount(stateDir, jail) {
  let db;
  try {
    db = new Database(join(stateDir, 'bans.sqlite'), { readonly: true, fileMustExist: true });
    return db.prepare('SELECT count(*) AS n FROM bans WHERE jail = ? AND ended_at IS NULL').get(jail).n;
  } catch {
    return 0;
  } finally {
    db?.close();
  }
}

// Builds the fleet, runs `body` with it, and takes it all down (daemons, watchers, server, namespaces).
async function withFleet({ count, work, cli, namespaces, driver }, body) {
  const tag = `f${count}`;
  const hub = namespaceName('bench', `${tag}hub`);
  const names = Array.from({ length: count }, (_, index) => namespaceName('bench', `${tag}h${index + 1}`));
  for (const ns of [hub, ...names]) namespaces.add(ns);
  await addNamespaces([hub, ...names]);
  const ip = (args, input) => execa('ip', args, { input });
  await ip(['-n', hub, '-batch', '-'], ['link set lo up', 'link add br0 type bridge', `addr add ${HUB}/24 dev br0`, 'link set br0 up'].join('\n'));
  for (const [index, ns] of names.entries()) {
    const number = index + 1;
    await ip(['-n', hub, '-batch', '-'], [`link add p${number} type veth peer name fleet netns ${ns}`, `link set p${number} master br0`, `link set p${number} up`].join('\n'));
    await ip(['-n', ns, '-batch', '-'], ['link set lo up', `addr add 198.51.100.${10 + number}/24 dev fleet`, 'link set fleet up', `route add default via ${HUB}`].join('\n'));
  }
  const dir = join(work, `fleet-${count}`);
  mkdirSync(join(dir, 'jetstream'), { recursive: true });
  writeFileSync(join(dir, 'nats.conf'), `listen: "${HUB}:4222"\njetstream { store_dir: "${join(dir, 'jetstream')}" }\n`);
  const children = [];
  const nats = spawn('ip', ['netns', 'exec', hub, 'nats-server', '-c', join(dir, 'nats.conf')], { stdio: 'ignore' });
  children.push(nats);
  const hosts = names.map((ns, index) => {
    const name = `h${index + 1}`;
    const home = join(dir, name);
    mkdirSync(home, { recursive: true });
    const config = join(home, 'xtban.toml');
    const authLog = join(home, 'auth.log');
    writeFileSync(authLog, '');
    writeFileSync(
      config,
      [
        '[fleet]',
        `name = "${name}"`,
        `servers = ["nats://${HUB}:4222"]`,
        '[jails.web]',
        'ports = [8080]',
        'window = "1h"',
        'family = "ipv4"',
        'maxretry = 1',
        'fleet = true',
        ...(index === 0 ? ['[[jails.web.sources]]', 'type = "file"', `path = "${authLog}"`, 'filter = "sshd"'] : []),
        '[jails.bulk]',
        'ports = [8081]',
        'window = "1h"',
        'family = "ipv6"',
        'capacity = 12000',
        'fleet = true',
        '',
      ].join('\n'),
    );
    return { name, ns, config, stateDir: join(home, 'state'), authLog, daemon: undefined };
  });
  const xtban = (host, args) => execIn(host.ns, process.execPath, [cli, '--config', host.config, '--state-dir', host.stateDir, ...args]);
  const start = async (host) => {
    const daemon = spawn('ip', ['netns', 'exec', host.ns, process.execPath, cli, '--config', host.config, '--state-dir', host.stateDir, '--log-format', 'json', 'daemon'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(daemon);
    host.daemon = daemon;
    let output = '';
    daemon.stdout.on('data', (chunk) => (output += chunk.toString()));
    daemon.stderr.on('data', (chunk) => (output += chunk.toString()));
    await until(`${host.name}'s daemon follows the fleet`, () => output.includes('following the fleet from decision'), 60_000);
  };
  const stop = async (host) => {
    const daemon = host.daemon;
    host.daemon = undefined;
    if (daemon === undefined || daemon.exitCode !== null) return;
    const exited = new Promise((resolve) => daemon.on('exit', resolve));
    daemon.kill('SIGTERM');
    await exited;
  };
  try {
    const listening = `require('net').connect(4222,'${HUB}').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`;
    for (let tries = 0; (await execIn(hub, process.execPath, ['-e', listening], { reject: false })).exitCode !== 0; tries++) {
      if (tries > 200) throw new Error('nats-server did not listen');
      await sleep(50);
    }
    for (const host of hosts) await xtban(host, ['apply']);
    for (const host of hosts) await start(host);
    return await body({ hosts, xtban, start, stop, driver, children });
  } finally {
    for (const host of hosts) await stop(host).catch(() => undefined);
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

// Ban on host 1 (from its log) to entry on every other host, `trials` times: every sample, in ms.
async function propagation({ hosts, driver, children }, trials) {
  const watchers = hosts.map((host) => {
    const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, driver('fleet-watch.mjs'), '/proc/net/xt_recent/xtban-web'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    children.push(child);
    const seen = new Map();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [address, at] = line.split(' ');
      seen.set(address, Number(at));
    });
    return { child, seen };
  });
  const samples = [];
  let missed = 0;
  for (let trial = 0; trial < trials; trial++) {
    const address = `203.0.113.${trial + 1}`;
    for (const watcher of watchers) watcher.child.stdin.write(`${address}\n`);
    await sleep(5);
    appendFileSync(hosts[0].authLog, `Nov 21 02:33:01 h1 sshd[1201]: Failed password for root from ${address} port 52311 ssh2\n`);
    await until(`trial ${trial + 1}`, () => watchers.every((watcher) => watcher.seen.has(address)), 15_000, 5);
    const origin = watchers[0].seen.get(address);
    for (const watcher of watchers.slice(1)) {
      const at = watcher.seen.get(address);
      if (at === -1 || origin === -1) missed++;
      else samples.push(at - origin);
    }
    await sleep(50);
  }
  for (const watcher of watchers) watcher.child.stdin.end();
  return { samples, missed };
}

// Host 2 stopped while host 1 bans `count` addresses; then started: ms until its store holds them all.
async function catchUp({ hosts, xtban, start, stop }, count) {
  const [h1, h2, h3] = hosts;
  await stop(h2);
  const addresses = Array.from({ length: count }, (_, index) => `2001:db8:c5::${(index + 1).toString(16)}`);
  for (let from = 0; from < count; from += 2000) await xtban(h1, ['ban', ...addresses.slice(from, from + 2000), '--jail', 'bulk']);
  await until('host 3 has them all (published)', () => openCount(h3.stateDir, 'bulk') >= count, 300_000, 200);
  const started = Date.now();
  await start(h2);
  await until('host 2 caught up', () => openCount(h2.stateDir, 'bulk') >= count, 600_000, 50);
  return Date.now() - started;
}

// The figure rows: propagation with 5 and 20 hosts, and the catch-up of 10,000 missed decisions.
export async function fleetFigures({ work, cli, namespaces, driver, figure, say, percentile }) {
  for (const count of [5, 20]) {
    say(`fleet: ${count} hosts, one nats-server`);
    await withFleet({ count, work, cli, namespaces, driver }, async (fleet) => {
      const trials = count === 5 ? 50 : 20;
      const { samples, missed } = await propagation(fleet, trials);
      const p50 = percentile(samples, 50);
      const p99 = percentile(samples, 99);
      const row = figure(
        `fleet propagation, ${count} hosts: a ban from host 1's log, from its kernel list to every other host's (${samples.length} samples)`,
        'ms',
        p99,
        {},
        { text: 'p99 at most 1000 ms (CrowdSec bouncers pull every 10 s by default)', met: p99 <= 1000 && missed === 0 },
      );
      row.details = { p50, p99, max: Math.max(...samples), missed };
      if (count === 5) {
        say('fleet: catch-up of 10,000 missed decisions');
        const elapsed = await catchUp(fleet, 10_000);
        figure('fleet catch-up: a host started after 10,000 decisions it missed, until its store holds them all', 'ms', elapsed, {}, {
          text: 'seconds, not minutes',
          met: elapsed < 60_000,
        });
      }
    });
  }
}
