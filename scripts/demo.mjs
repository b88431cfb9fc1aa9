#!/usr/bin/env node
// npm start: a narrated demo of a sliding-window ban on the real kernel, inside two throwaway
// network namespaces (fw and attacker) joined by a veth pair. Nothing outside them is touched,
// and everything is removed at the end, on error and on Ctrl-C.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'main.js');
const suffix = `${process.pid % 100000}`;
const fw = `xtb-demo-fw-${suffix}`;
const attacker = `xtb-demo-at-${suffix}`;
const vethFw = `xtbdf${suffix}`;
const vethAt = `xtbda${suffix}`;
const port = 2222;
const windowSeconds = 4;
const work = mkdtempSync(join(tmpdir(), 'xtban-demo-'));
const configPath = join(work, 'xtban.toml');
const children = [];
const started = Date.now();

const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const say = (text) => console.log(`\n${bold(`[${((Date.now() - started) / 1000).toFixed(1).padStart(4)}s] ${text}`)}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Synchronous, so that it also runs from a signal handler or on exit.
function cleanup() {
  for (const child of children) child.kill('SIGKILL');
  for (const ns of [fw, attacker]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.log(`\n${signal}: cleaning up`);
    cleanup();
    process.exit(130);
  });
}

const ip = (...args) => execa('ip', args);
const inNs = (ns, command, args, options = {}) => execa('ip', ['netns', 'exec', ns, command, ...args], { reject: false, ...options });

async function xtban(...args) {
  console.log(`  $ xtban ${args.join(' ')}`);
  const result = await inNs(fw, process.execPath, [cli, '--config', configPath, '--state-dir', join(work, 'state'), ...args], { all: true });
  if (result.all) console.log(result.all.replace(/^/gm, '    '));
  if (result.exitCode !== 0) throw new Error(`xtban ${args[0]} exited ${result.exitCode}`);
}

// One TCP connection attempt from the attacker, bounded by a timeout: "open", "dropped" or "refused".
async function connect() {
  const code = `const s=require('net').connect({host:'192.0.2.1',port:${port}});s.setTimeout(600);s.on('connect',()=>{console.log('open');s.destroy()});s.on('timeout',()=>{console.log('dropped');s.destroy()});s.on('error',e=>console.log(e.code==='ECONNREFUSED'?'refused':e.code))`;
  const result = await inNs(attacker, process.execPath, ['-e', code]);
  return result.stdout.trim();
}

async function attempt(expected) {
  const outcome = await connect();
  const mark = outcome === expected ? 'as expected' : `EXPECTED ${expected}`;
  console.log(`  attacker 192.0.2.2 -> 192.0.2.1:${port}: ${outcome} (${mark})`);
  if (outcome !== expected) throw new Error(`connection was ${outcome}, expected ${expected}`);
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the demo needs root (network namespaces and iptables)');
  say('Two throwaway network namespaces: "fw" (192.0.2.1) runs xtban, "attacker" (192.0.2.2) connects to it');
  await ip('netns', 'add', fw);
  await ip('netns', 'add', attacker);
  await ip('link', 'add', vethFw, 'type', 'veth', 'peer', 'name', vethAt);
  await ip('link', 'set', vethFw, 'netns', fw);
  await ip('link', 'set', vethAt, 'netns', attacker);
  for (const [ns, dev, address] of [[fw, vethFw, '192.0.2.1/24'], [attacker, vethAt, '192.0.2.2/24']]) {
    await ip('-n', ns, 'addr', 'add', address, 'dev', dev);
    await ip('-n', ns, 'link', 'set', dev, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  const server = execa('ip', ['netns', 'exec', fw, process.execPath, '-e', `require('net').createServer(s=>{s.on('error',()=>{});s.end('hello\\n')}).listen(${port},()=>console.log('ready'))`]);
  server.catch(() => {});
  children.push(server);
  await new Promise((resolve, reject) => {
    server.stdout.once('data', resolve);
    server.once('exit', () => reject(new Error('the demo server did not start')));
  });

  writeFileSync(configPath, `[jails.demo]\nports = [${port}]\nprotocol = "tcp"\nwindow = "${windowSeconds}s"\naction = "DROP"\nfamily = "ipv4"\n`);
  say(`A jail "demo" for tcp/${port} with a ${windowSeconds}-second sliding window`);
  console.log(`  ${configPath}:\n${'[jails.demo]'.replace(/^/, '    ')}\n    ports = [${port}]  window = "${windowSeconds}s"  action = "DROP"`);
  await xtban('apply');
  const saved = await inNs(fw, 'iptables-save', ['-t', 'filter']);
  console.log(saved.stdout.split('\n').filter((line) => line.includes('xtban')).map((line) => `    ${line}`).join('\n'));

  say('Before any ban the attacker gets through');
  await attempt('open');

  say('Ban it: one write of "+192.0.2.2" into /proc/net/xt_recent/xtban-demo');
  await xtban('ban', '192.0.2.2');
  await attempt('dropped');

  say(`It keeps trying for ${windowSeconds + 2} seconds, longer than the window: every attempt refreshes the ban`);
  for (let i = 0; i < windowSeconds + 2; i++) {
    await attempt('dropped');
    await sleep(1000);
  }
  await xtban('status');

  say(`It goes silent for ${windowSeconds + 1} seconds: the window passes`);
  await sleep((windowSeconds + 1) * 1000);
  await xtban('status');
  say('Silence for a whole window lets it through again (and the --remove rule drops the stale entry)');
  await attempt('open');

  say('Teardown removes the chain and the jump; then the namespaces go');
  await xtban('teardown');
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
