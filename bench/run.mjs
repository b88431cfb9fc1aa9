#!/usr/bin/env node
// npm run bench: xtban against the tools and methods it replaces, measured in the same run on this machine,
// in throwaway network namespaces. Prints a table (figures, ratios, targets, hit or miss) and writes
// bench/results/latest.json. bench/README.md says how each figure is measured.
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { addNamespaces, deleteNamespaceSync, execIn, namespaceName } from '../test/kernel/helpers/netns-core.mjs';
import { runInStockKernel, stockKernel, stockKernelMissing } from '../test/kernel/helpers/stock-kernel-vm.mjs';
import { nginxAccessLog, nginxErrorLog, sshdLog, templates } from './log-generator.mjs';
import { fleetFigures } from './fleet.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'main.js');
// The programs run inside the namespaces (bench/drivers/, each says what it takes and prints).
const driver = (name) => join(root, 'bench', 'drivers', name);
const work = mkdtempSync(join(tmpdir(), 'xtban-bench-'));
const namespaces = new Set();
const figures = [];
// apply writes its modprobe.d file (a jail above ip_list_tot) here, never into the host's /etc.
process.env.XTBAN_MODPROBE_DIR = join(work, 'modprobe.d');
mkdirSync(process.env.XTBAN_MODPROBE_DIR);
// The figures to run: all, or those named (`node bench/run.mjs scan detect`, or `--only scan,detect`).
const only = process.argv.slice(2).flatMap((arg) => (arg === '--only' ? [] : arg.replace(/^--only=/, '').split(','))).filter(Boolean);
const want = (name) => only.length === 0 || only.includes(name);

function cleanup() {
  for (const ns of namespaces) deleteNamespaceSync(ns);
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const say = (text) => process.stderr.write(`bench: ${text}\n`);
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];

// xtb-bench-<pid>-<name>: the tests' sweepLeftovers removes it should this process die before its exit handler.
async function namespace(name) {
  const ns = namespaceName('bench', name);
  namespaces.add(ns);
  await addNamespaces([ns]);
  await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}
const inNs = (ns, command, args, options = {}) => execIn(ns, command, args, options);
const xtban = (ns, config, state, args, options = {}) => inNs(ns, process.execPath, [cli, '--config', config, '--state-dir', state, ...args], options);

// One row of the table: what was measured for xtban and for each other side, and the target.
function figure(name, unit, xtbanValue, others, target) {
  const row = { figure: name, unit, xtban: xtbanValue, others, target: target.text, met: target.met };
  figures.push(row);
  return row;
}

const ipv6 = (prefix, count) => Array.from({ length: count }, (_, i) => `2001:db8:${prefix}::${(i + 1).toString(16)}`);

const BULK_RUNS = 5;

async function bulkLoad(n) {
  const ns = await namespace(`bulk${n}`);
  const state = join(work, `bulk-${n}`);
  const config = join(work, `bulk-${n}.toml`);
  writeFileSync(config, `[safelist]\nown_addresses = false\n\n[jails.bulk]\nports = [22]\nwindow = "1h"\nfamily = "ipv6"\ncapacity = ${n}\n`);
  await xtban(ns, config, state, ['apply']);
  const addresses = ipv6('b', n);
  for (let i = 0; i < n; i += 2000) await xtban(ns, config, state, ['ban', ...addresses.slice(i, i + 2000)]);
  // Median of BULK_RUNS restores into emptied lists (one run on this VM varies by 15 %).
  const restoreRuns = [];
  const elapsedRuns = [];
  for (let run = 0; run < BULK_RUNS; run++) {
    await inNs(ns, process.execPath, [driver('flush-lists.mjs')]);
    const start = process.hrtime.bigint();
    const restored = await xtban(ns, config, state, ['restore', '--json']);
    restoreRuns.push(ms(start));
    const report = JSON.parse(restored.stdout);
    if (report.restored !== n) throw new Error(`restore put back ${report.restored} of ${n}`);
    elapsedRuns.push(report.elapsedMs);
  }
  const restoreMs = median(restoreRuns);
  if (process.env['BENCH_DEBUG']) say(`restore elapsedMs of each run: ${elapsedRuns.map((v) => v.toFixed(1)).join(' ')}`);

  // fail2ban's xt_recent action: one shell per ban, `echo +IP > /proc/...`.
  await inNs(ns, 'ip6tables', ['-A', 'INPUT', '-m', 'recent', '--name', 'echo', '--rcheck']);
  const shellMs = Number((await inNs(ns, process.execPath, [driver('echo-per-ban.mjs')], { input: addresses.join('\n') })).stdout);

  // Seeds 000 and 001: one `ip6tables -I ... -j DROP` per address, stopped after 60 s.
  await inNs(ns, 'ip6tables', ['-N', 'perip']);
  const rules = JSON.parse((await inNs(ns, process.execPath, [driver('rule-per-address.mjs')], { input: addresses.join('\n') })).stdout);

  // The floor: one process, lseek + write per address; also the median of BULK_RUNS into an emptied list.
  await inNs(ns, 'ip6tables', ['-A', 'INPUT', '-m', 'recent', '--name', 'floor', '--rcheck']);
  const floorRuns = [];
  for (let run = 0; run < BULK_RUNS; run++) {
    await inNs(ns, process.execPath, [driver('flush-lists.mjs'), 'floor']);
    floorRuns.push(Number((await inNs(ns, join(work, 'floor'), ['/proc/net/xt_recent/floor'], { input: addresses.join('\n') })).stdout));
  }
  const per = (total, count) => (total * 1000) / count;
  // The figure is restore's own work (read the lists and the store, plan, write); the whole process beside it.
  const xtbanUs = per(median(elapsedRuns), n);
  const floorUs = median(floorRuns) / 1000 / n;
  return figure(
    `bulk load, ${n} bans (time per ban, median of ${BULK_RUNS}; xtban: restore's reading, planning and writing)`,
    'µs/ban',
    xtbanUs,
    {
      'xtban restore as a whole process (start and config included)': per(restoreMs, n),
      'echo per ban (fail2ban xt_recent action)': per(shellMs, n),
      [`ip6tables -I per address${rules.n < n ? ` (stopped after ${rules.n})` : ''}`]: per(rules.ms, rules.n),
      'lseek+write loop (floor)': floorUs,
    },
    { text: '≤ 20 µs and ≤ 15x floor', met: xtbanUs <= 20 && xtbanUs <= 15 * floorUs },
  );
}

async function freshProcess() {
  const ns = await namespace('fresh');
  const state = join(work, 'fresh');
  const config = join(work, 'fresh.toml');
  writeFileSync(config, '[safelist]\nown_addresses = false\n\n[jails.ssh]\nports = [22]\nwindow = "1h"\n');
  await xtban(ns, config, state, ['apply']);
  const bans = [];
  const floors = [];
  for (let i = 0; i < 21; i++) {
    let start = process.hrtime.bigint();
    await xtban(ns, config, state, ['ban', `2001:db8:f::${i + 1}`]);
    bans.push(ms(start));
    start = process.hrtime.bigint();
    // The runtime's own floor, not a driver: node started on an empty program.
    await inNs(ns, process.execPath, ['-e', '0']);
    floors.push(ms(start));
  }
  const value = median(bans);
  const floor = median(floors);
  return figure('one ban as a fresh process (median of 21)', 'ms', value, { 'node -e 0 (floor)': floor }, { text: '≤ 2x floor', met: value <= 2 * floor });
}

async function reportAndReap() {
  // A captured-lists directory with 100,000 entries, stamps around the fixture clock.
  const dir = join(work, 'lists');
  mkdirSync(dir);
  const jiffies = 4294974736;
  const lines = [];
  for (let i = 0; i < 100_000; i++) {
    const address = i % 2 === 0 ? `198.51.${(i >> 8) & 255}.${i & 255}` : `2001:0db8:0000:0000:0000:0000:${(i >> 8).toString(16).padStart(4, '0')}:${(i & 255).toString(16).padStart(4, '0')}`;
    const stamp = jiffies - (i % 5000) * 250;
    lines.push(`src=${address} ttl: 0 last_seen: ${stamp} oldest_pkt: 1 ${stamp}`);
  }
  writeFileSync(join(dir, 'big'), `${lines.join('\n')}\n`);
  const config = join(work, 'report.toml');
  writeFileSync(config, '[safelist]\nown_addresses = false\n\n[jails.big]\nlist = "big"\nwindow = "1h"\nfamily = "ipv4"\n');
  const fixtures = join(root, 'fixtures', 'proc');
  const args = ['--proc', dir, '--clock', fixtures, '--sys', join(fixtures, 'sys'), '--json'];
  const time = async (command, commandArgs) => {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const start = process.hrtime.bigint();
      // Output to /dev/null for every side: what is measured is the tool's work, not this harness reading
      // 20 MB from a pipe on the same two cores.
      await execa(command, commandArgs, { reject: false, stdout: 'ignore' });
      runs.push(ms(start));
    }
    return Math.min(...runs);
  };
  const status = await time(process.execPath, [cli, '--config', config, '--state-dir', join(work, 'report-state'), 'status', ...args]);
  const reap = await time(process.execPath, [cli, '--config', config, '--state-dir', join(work, 'report-state'), 'reap', '--dry-run', ...args]);
  const cat = await time('cat', [join(dir, 'big')]);
  figure('status --json over 100,000 entries (best of 3)', 'ms', status, { 'cat (floor)': cat }, { text: '< 300 ms', met: status < 300 });
  figure('reap --dry-run over 100,000 entries (best of 3)', 'ms', reap, { 'cat (floor)': cat }, { text: '< 300 ms', met: reap < 300 });
}

// fail2ban-regex reads about 15,000 sshd lines and 40,000 nginx lines a second here: it reads the first
// FAIL2BAN_SLICE lines of each file (its rate is that of any slice), and so does the address comparison.
const FAIL2BAN_SLICE = 250_000;
const SCAN_LINES = 1_000_000;

// Writes the lines to `path`, and the first `head` of them to `headPath` as well.
async function writeLines(path, lines, headPath, head) {
  const out = createWriteStream(path);
  const first = createWriteStream(headPath);
  let n = 0;
  for (const line of lines) {
    if (n++ < head && !first.write(`${line}\n`)) await new Promise((resolve) => first.once('drain', resolve));
    if (!out.write(`${line}\n`)) await new Promise((resolve) => out.once('drain', resolve));
  }
  await Promise.all([new Promise((resolve) => out.end(resolve)), new Promise((resolve) => first.end(resolve))]);
}

// xtban scan of a file, the whole process timed; its JSON report.
async function xtbanScan(config, args) {
  const start = process.hrtime.bigint();
  const result = await execa(process.execPath, [cli, '--config', config, 'scan', ...args, '--json'], { reject: false, maxBuffer: 1 << 30 });
  const seconds = ms(start) / 1000;
  if (result.exitCode !== 0) throw new Error(`xtban scan ${args.join(' ')}: ${result.stderr}`);
  return { seconds, report: JSON.parse(result.stdout) };
}

// One scan figure: a generated log of SCAN_LINES lines, xtban scan over it (on as many threads as CPUs,
// and on one), fail2ban-regex with its stock filter of the same name over its first FAIL2BAN_SLICE lines,
// and the address sets both find on that slice.
async function scanFigure({ family, filter, fail2ban, lines, injected }) {
  const log = join(work, `scan-${filter}.log`);
  const slice = join(work, `scan-${filter}-slice.log`);
  await writeLines(log, lines, slice, FAIL2BAN_SLICE);
  const scanConfig = join(work, 'scan.toml');
  writeFileSync(scanConfig, '[jails.scan]\n');
  const common = ['--filter', filter];
  const all = await xtbanScan(scanConfig, [...common, log]);
  if (all.report.lines !== SCAN_LINES) throw new Error(`xtban scan read ${all.report.lines} of ${SCAN_LINES} lines`);
  const single = await xtbanScan(scanConfig, [...common, log, '--threads', '1']);
  const onSlice = await xtbanScan(scanConfig, [...common, slice]);
  const start = process.hrtime.bigint();
  const theirs = await execa('fail2ban-regex', ['-o', 'ip', '--print-no-missed', '--print-no-ignored', slice, fail2ban], { reject: false, maxBuffer: 1 << 30 });
  const f2bSeconds = ms(start) / 1000;
  if (theirs.exitCode !== 0) throw new Error(`fail2ban-regex ${fail2ban}: ${theirs.stderr}`);
  const theirAddresses = new Set(String(theirs.stdout).split('\n').map((line) => line.trim()).filter((line) => /^[0-9a-f.:]+$/i.test(line) && /[.:]/.test(line)).map((text) => (text.includes(':') ? text.toLowerCase() : text)));
  const ourAddresses = new Set((onSlice.report.addresses ?? []).map((entry) => entry.address));
  const both = [...ourAddresses].filter((address) => theirAddresses.has(address)).length;
  const xtbanRate = SCAN_LINES / all.seconds;
  const f2bRate = FAIL2BAN_SLICE / f2bSeconds;
  const row = figure(
    `scan, ${family}: ${SCAN_LINES.toLocaleString('en')} lines, filter ${filter} (lines per second; xtban on ${all.report.threads} thread${all.report.threads === 1 ? '' : 's'}, fail2ban-regex on the first ${FAIL2BAN_SLICE.toLocaleString('en')})`,
    'lines/s',
    xtbanRate,
    { 'xtban scan --threads 1': SCAN_LINES / single.seconds, [`fail2ban-regex, stock ${fail2ban} filter`]: f2bRate },
    { text: '≥ 10x fail2ban-regex, same addresses', met: xtbanRate >= 10 * f2bRate && both === ourAddresses.size && both === theirAddresses.size },
  );
  row.addresses = {
    slice: FAIL2BAN_SLICE,
    xtban: ourAddresses.size,
    fail2ban: theirAddresses.size,
    both,
    onlyXtban: ourAddresses.size - both,
    onlyFail2ban: theirAddresses.size - both,
    injectedFoundByXtban: [...ourAddresses].filter((address) => injected.includes(address)),
  };
}

// The scan figures, one per family of logs; a filter xtban does not have (yet) is said and skipped.
async function scan() {
  const families = [
    // injected: addresses the generator writes only where a client chose the text, never to be found.
    { name: 'scan-sshd', family: 'sshd auth.log', filter: 'sshd', fail2ban: 'sshd', injected: ['192.0.2.255'], lines: () => sshdLog(SCAN_LINES, 42) },
    {
      name: 'scan-nginx-error',
      family: 'nginx error.log',
      filter: 'nginx-http-auth',
      fail2ban: 'nginx-http-auth',
      injected: ['203.0.113.9', '2001:db8::9'],
      lines: () => nginxErrorLog(SCAN_LINES, 43, templates(join(root, 'fixtures', 'logs', 'nginx-http-auth', 'error.log'), /, client: /)),
    },
    {
      name: 'scan-nginx-access',
      family: 'nginx access.log',
      filter: 'nginx-botsearch',
      fail2ban: 'nginx-botsearch',
      injected: ['203.0.113.9', '2001:db8::9'],
      lines: () => nginxAccessLog(SCAN_LINES, 44, templates(join(root, 'fixtures', 'logs', 'nginx-botsearch', 'access.log'), / 404 /)),
    },
  ];
  const known = String((await execa(process.execPath, [cli, 'filters', '--json'], { reject: false })).stdout);
  for (const family of families) {
    if (!want(family.name) && !want('scan')) continue;
    if (!known.includes(`"${family.filter}"`)) {
      say(`${family.name}: skipped, xtban has no built-in ${family.filter} filter (yet)`);
      continue;
    }
    say(`${family.name} (${SCAN_LINES.toLocaleString('en')} lines; fail2ban-regex on ${FAIL2BAN_SLICE.toLocaleString('en')})`);
    await scanFigure({ ...family, lines: family.lines() });
  }
}

// A stand-in fail2ban configuration directory: Debian's files without their jails, plus ours.
function fail2banConfig(name, jails) {
  const conf = join(work, `f2b-${name}`);
  spawnSync('cp', ['-r', '/etc/fail2ban', conf]);
  spawnSync('sh', ['-c', `rm -f ${conf}/jail.d/*`]);
  writeFileSync(join(conf, 'fail2ban.local'), `[Definition]\nloglevel = WARNING\nlogtarget = ${join(work, `f2b-${name}.log`)}\nsocket = ${join(work, `f2b-${name}.sock`)}\npidfile = ${join(work, `f2b-${name}.pid`)}\ndbfile = :memory:\n`);
  writeFileSync(join(conf, 'jail.local'), jails);
  return conf;
}

const startFail2ban = (ns, name, conf) => inNs(ns, 'fail2ban-server', ['-f', '-x', '-c', conf, '-s', join(work, `f2b-${name}.sock`), '-p', join(work, `f2b-${name}.pid`)], { reject: false, stdio: 'ignore' });

async function detection() {
  const trials = 200;
  const ns = await namespace('detect');
  const state = join(work, 'detect');
  const log = join(work, 'detect-auth.log');
  writeFileSync(log, '');
  const config = join(work, 'detect.toml');
  writeFileSync(config, `[safelist]\nown_addresses = false\n\n[jails.sshd]\nports = [22]\nwindow = "1h"\nfamily = "ipv4"\nmaxretry = 1\n[[jails.sshd.sources]]\ntype = "file"\npath = "${log}"\n`);
  await xtban(ns, config, state, ['apply']);
  const daemon = inNs(ns, process.execPath, [cli, '--config', config, '--state-dir', state, 'daemon'], { reject: false, stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const ours = JSON.parse((await inNs(ns, process.execPath, [driver('detection-latency.mjs'), log, '/proc/net/xt_recent/xtban-sshd', String(trials)])).stdout);
  if (process.env['BENCH_DEBUG']) say(`xtban latencies: ${ours.slice(0, 20).map((v) => v.toFixed(1)).join(' ')}`);
  daemon.kill('SIGTERM');
  await daemon;

  const f2bLog = join(work, 'detect-f2b.log');
  writeFileSync(f2bLog, '');
  const conf = fail2banConfig('detect', `[sshd]\nenabled = true\nfilter = sshd\nlogpath = ${f2bLog}\nbackend = auto\nmaxretry = 1\nfindtime = 600\nbantime = 3600\naction = iptables-xt_recent-echo[name=sshd]\n`);
  const server = startFail2ban(ns, 'detect', conf);
  // fail2ban's actionstart creates the list: wait for it (at most 10 s).
  for (let i = 0; i < 100 && (await inNs(ns, 'test', ['-e', '/proc/net/xt_recent/f2b-sshd'], { reject: false })).exitCode !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const theirs = JSON.parse((await inNs(ns, process.execPath, [driver('detection-latency.mjs'), f2bLog, '/proc/net/xt_recent/f2b-sshd', String(trials)])).stdout);
  server.kill('SIGTERM');
  await server;
  const stats = (values) => ({ p50: percentile(values.filter((v) => v >= 0), 50), p99: percentile(values.filter((v) => v >= 0), 99), missed: values.filter((v) => v < 0).length });
  const a = stats(ours);
  const b = stats(theirs);
  const row = figure('detection to ban, p99 over 200 trials (failure line appended to the kernel list holding the address)', 'ms', a.p99, { 'fail2ban-server, xt_recent action, p99': b.p99 }, { text: 'p99 < 50 ms', met: a.p99 < 50 && a.missed === 0 });
  row.details = { 'xtban p50': a.p50, 'fail2ban-server p50': b.p50, 'xtban missed': a.missed, 'fail2ban-server missed': b.missed };
}

// Resident memory (kB) and CPU seconds of a process over an idle period, with its live children
// (xtban keeps nft monitor running) and the children it waited for (xtban's checks run iptables-save).
// A child that ends while it is being read (a check's iptables-save) counts as nothing: read as ''.
const readOrEmpty = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};
function processTree(pid) {
  const children = readOrEmpty(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...children.flatMap((child) => processTree(child))];
}
async function idleFootprint(pid, seconds) {
  // Run time of every thread (schedstat, in ns) of the process and its live children, and the CPU time
  // of the children it waited for (cutime + cstime, in clock ticks: the kernel keeps no finer sum).
  const tasks = (id) => {
    try {
      return readdirSync(`/proc/${id}/task`);
    } catch {
      return [];
    }
  };
  const threadSeconds = (id) => tasks(id).reduce((sum, task) => sum + (Number(readOrEmpty(`/proc/${id}/task/${task}/schedstat`).split(' ')[0]) || 0) / 1e9, 0);
  const cpu = () => {
    const waited = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return processTree(pid).reduce((sum, id) => sum + threadSeconds(id), 0) + (Number(waited[13]) + Number(waited[14])) / 100;
  };
  const before = cpu();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = cpu();
  const total = { rssKb: 0, anonKb: 0, fileKb: 0 };
  const tree = processTree(pid);
  for (const id of tree) {
    const status = readOrEmpty(`/proc/${id}/status`);
    const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    total.rssKb += kb('VmRSS');
    total.anonKb += kb('RssAnon');
    total.fileKb += kb('RssFile');
  }
  return { ...total, processes: tree.length, cpuSeconds: after - before };
}

// Both daemons first settle (start-up work, the runtimes' first collections); then the steady state is measured.
const SETTLE_S = 20;
const IDLE_S = 30;

async function footprint() {
  const ns = await namespace('idle');
  const state = join(work, 'idle');
  const logs = [1, 2, 3].map((i) => join(work, `idle-${i}.log`));
  for (const log of logs) writeFileSync(log, '');
  const jails = ['a', 'b', 'c', 'd', 'e'];
  const config = join(work, 'idle.toml');
  writeFileSync(
    config,
    `[safelist]\nown_addresses = false\n${jails.map((jail, i) => `\n[jails.${jail}]\nports = [${2200 + i}]\nwindow = "1h"\n${i < 3 ? `[[jails.${jail}.sources]]\ntype = "file"\npath = "${logs[i]}"\n` : ''}`).join('')}`,
  );
  await xtban(ns, config, state, ['apply']);
  const daemon = inNs(ns, process.execPath, [cli, '--config', config, '--state-dir', state, 'daemon'], { reject: false, stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, SETTLE_S * 1000));
  const ours = await idleFootprint(daemon.pid, IDLE_S);
  daemon.kill('SIGTERM');
  await daemon;
  const conf = fail2banConfig('idle', jails.map((jail, i) => `[${jail}]\nenabled = true\nfilter = sshd\nlogpath = ${logs[i % 3]}\nbackend = auto\nport = ${2200 + i}\naction = iptables-xt_recent-echo[name=${jail}]\n`).join('\n'));
  const server = startFail2ban(ns, 'idle', conf);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_S * 1000));
  const theirs = await idleFootprint(server.pid, IDLE_S);
  server.kill('SIGTERM');
  await server;
  const row = figure('daemon footprint idle, 5 jails and 3 sources (resident memory)', 'MB', ours.rssKb / 1024, { 'fail2ban-server': theirs.rssKb / 1024 }, { text: 'smaller than fail2ban-server', met: ours.rssKb < theirs.rssKb && ours.cpuSeconds <= theirs.cpuSeconds });
  row.cpuSecondsIdle = { seconds: IDLE_S, xtban: Math.round(ours.cpuSeconds * 1000) / 1000, fail2ban: Math.round(theirs.cpuSeconds * 1000) / 1000 };
  row.processes = { xtban: ours.processes, fail2ban: theirs.processes };
  // The target in its parts: the resident figure counts the runtime's mapped binary (Node 20: about 34 MB
  // of file-backed pages before any code runs), the anonymous one what the daemon itself holds.
  row.smaller = { resident: ours.rssKb < theirs.rssKb, anonymous: ours.anonKb < theirs.anonKb, cpu: ours.cpuSeconds <= theirs.cpuSeconds };
  const mb = (kb) => Math.round(kb / 102.4) / 10;
  row.residentMb = { xtban: { anonymous: mb(ours.anonKb), file: mb(ours.fileKb) }, fail2ban: { anonymous: mb(theirs.anonKb), file: mb(theirs.fileKb) } };
}

// Two namespaces joined by a veth pair: a firewall, which runs the server, and a client.
async function pair(name) {
  const fw = await namespace(`${name}f`);
  const client = await namespace(`${name}c`);
  await execa('ip', ['-n', fw, 'link', 'add', 'xtb-p0', 'type', 'veth', 'peer', 'name', 'xtb-p1', 'netns', client]);
  for (const [ns, dev, last] of [
    [fw, 'xtb-p0', 1],
    [client, 'xtb-p1', 2],
  ]) {
    const batch = [`addr add 192.0.2.${last}/24 dev ${dev}`, `addr add 2001:db8::${last}/64 dev ${dev} nodad`, `link set ${dev} up`].join('\n');
    await execa('ip', ['-n', ns, '-batch', '-'], { input: `${batch}\n` });
  }
  // The client's other addresses, reached on the link.
  const sources = [4, 6].flatMap((family) => clientSources(family).map((address) => `addr add ${address}/${family === 4 ? 32 : 128} dev xtb-p1${family === 6 ? ' nodad' : ''}`));
  await execa('ip', ['-n', client, '-batch', '-'], { input: `${sources.join('\n')}\n` });
  await execa('ip', ['-n', fw, '-batch', '-'], { input: 'route add 198.19.192.0/20 dev xtb-p0\nroute add 2001:db8:c::/64 dev xtb-p0\n' });
  return { fw, client };
}

// The addresses the packet-path client connects from, one after another: CLIENT_SOURCES of them whose
// lowest bits (what picks a shard) are spread evenly over every shard of a jail, so the figure is the
// average over the shards a packet can meet, not the one shard a single address falls in. IPv4 from
// 198.19.192.0/20, past what the jails hold; IPv6 from 2001:db8:c::/64.
const CLIENT_SOURCES = 64;
const clientSources = (family) =>
  Array.from({ length: CLIENT_SOURCES }, (_, k) => k * 33).map((low) => (family === 4 ? `198.19.${192 + (low >> 8)}.${low & 0xff}` : `2001:db8:c::${low.toString(16)}`));

async function dropNamespaces(...names) {
  for (const ns of names) {
    deleteNamespaceSync(ns);
    namespaces.delete(ns);
  }
}

const PATH_PORT = 8080;
const PATH_SECONDS = 2;
const PATH_RUNS = 3;
// The addresses a jail of the packet-path figure holds, none of them the client's: IPv4 from 198.18.0.0/15
// (RFC 2544's benchmarking range; the documentation /24s hold 768), IPv6 from 2001:db8:b::/48.
const heldAddress = (family, i) => (family === 4 ? `198.${18 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}` : `2001:db8:b:${(i >> 16).toString(16)}::${(i & 0xffff).toString(16)}`);

// New connections a second from a client that is not banned, through the rules `setup` puts in place in a
// fresh pair of namespaces (so no TIME_WAIT is left from a run before).
async function connectionRate(name, family, setup) {
  const { fw, client } = await pair(name);
  try {
    await setup(fw);
    const server = execIn(fw, join(work, 'connect-rate'), ['serve', String(PATH_PORT)], { reject: false, buffer: false });
    await new Promise((resolve, reject) => {
      server.stdout.once('data', resolve);
      server.once('exit', () => reject(new Error('connect-rate serve ended')));
    });
    // The median of PATH_RUNS runs, a second apart (one run on this VM varies by a third).
    const rates = [];
    for (let run = 0; run < PATH_RUNS; run++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const result = await inNs(client, join(work, 'connect-rate'), ['connect', family === 4 ? '192.0.2.1' : '2001:db8::1', String(PATH_PORT), String(PATH_SECONDS), ...clientSources(family)]);
      const [rate, failed] = result.stdout.trim().split(' ').map(Number);
      if (failed > 0) throw new Error(`${name}: ${failed} connections failed`);
      rates.push(rate);
    }
    server.kill('SIGKILL');
    return median(rates);
  } finally {
    await dropNamespaces(fw, client);
  }
}

// An xtban jail of `capacity` on the port, filled to capacity with bans of that family (not the client).
async function xtbanJail(fw, family, capacity, name) {
  const config = join(work, `${name}.toml`);
  const state = join(work, `${name}-state`);
  writeFileSync(config, `[safelist]\nown_addresses = false\n\n[jails.web]\nports = [${PATH_PORT}]\nwindow = "1h"\nfamily = "ipv${family}"\ncapacity = ${capacity}\n`);
  await xtban(fw, config, state, ['apply']);
  const held = Array.from({ length: capacity }, (_, i) => heldAddress(family, i));
  const started = process.hrtime.bigint();
  for (let i = 0; i < held.length; i += 5000) await xtban(fw, config, state, ['ban', ...held.slice(i, i + 5000)]);
  return { config, state, banMs: ms(started) };
}

// An ipset hash:ip set of `capacity` addresses matched by one rule: fail2ban's iptables-ipset action and
// CrowdSec's ipset backend.
async function ipsetRule(fw, family, capacity) {
  const set = 'bench';
  const lines = [`create ${set} hash:ip family inet${family === 6 ? '6' : ''} maxelem ${Math.max(65_536, capacity)}`, ...Array.from({ length: capacity }, (_, i) => `add ${set} ${heldAddress(family, i)}`)];
  const started = process.hrtime.bigint();
  await inNs(fw, 'ipset', ['restore'], { input: `${lines.join('\n')}\n` });
  const restoreMs = ms(started);
  await inNs(fw, family === 4 ? 'iptables' : 'ip6tables', ['-I', 'INPUT', '-p', 'tcp', '--dport', String(PATH_PORT), '-m', 'set', '--match-set', set, 'src', '-j', 'DROP']);
  return restoreMs;
}

// What the kernel pays to find a recent list: xt_recent walks every list of the namespace, in the order
// they were made, for each recent rule a packet meets. One --rcheck rule on the port, with LOOKUP_LISTS
// other lists (named by rules of a chain nothing jumps to) made before it, or after it.
const LOOKUP_LISTS = 2048;
async function listLookup() {
  const rule = ['-A', 'INPUT', '-p', 'tcp', '--dport', String(PATH_PORT), '-m', 'recent', '--rcheck', '--name', 'target', '--rsource', '-j', 'DROP'];
  const others = ['*filter', ':others - [0:0]', ...Array.from({ length: LOOKUP_LISTS }, (_, i) => `-A others -m recent --rcheck --name other.${i} --rsource`), 'COMMIT', ''].join('\n');
  const before = await connectionRate('lkb', 4, async (fw) => {
    await inNs(fw, 'iptables-restore', ['--noflush'], { input: others });
    await inNs(fw, 'iptables', rule);
  });
  const after = await connectionRate('lka', 4, async (fw) => {
    await inNs(fw, 'iptables', rule);
    await inNs(fw, 'iptables-restore', ['--noflush'], { input: others });
  });
  const alone = await connectionRate('lk0', 4, (fw) => inNs(fw, 'iptables', rule));
  const row = figure(
    `recent list lookup: new connections a second through one --rcheck rule, ${LOOKUP_LISTS.toLocaleString('en')} other lists made before its list (what a jail of 100,000 bans over lists of 100 costs its last shard)`,
    'conn/s',
    before,
    { 'the same rule, the other lists made after its list': after, 'the same rule, no other lists': alone },
    { text: 'measured, no target: the cost a larger ip_list_tot removes', met: true },
  );
  row.nsPerList = Number((((1 / before - 1 / after) * 1e9) / LOOKUP_LISTS / 3).toFixed(0));
}

const PATH_CAPACITIES = [100, 1000, 10_000, 100_000];

// The packet path: what a jail costs the new connections of a client that is not banned, by capacity, in
// each family, against no rules and an ipset set of the same size; and the load of 100,000 bans.
async function packetPath() {
  for (const family of [4, 6]) {
    const floor = await connectionRate(`pn${family}`, family, async () => {});
    const ours = new Map();
    const sets = new Map();
    for (const capacity of PATH_CAPACITIES) {
      say(`packet path, IPv${family}, capacity ${capacity}`);
      ours.set(capacity, await connectionRate(`px${family}${capacity}`, family, (fw) => xtbanJail(fw, family, capacity, `path-${family}-${capacity}`)));
      sets.set(capacity, await connectionRate(`ps${family}${capacity}`, family, (fw) => ipsetRule(fw, family, capacity)));
    }
    const one = ours.get(100);
    const kept = (capacity) => ours.get(capacity) / one;
    const row = figure(
      `packet path, IPv${family}: new connections a second of a client that is not banned, jail filled to capacity 100,000 (median of ${PATH_RUNS} runs of ${PATH_SECONDS} s, fresh namespaces)`,
      'conn/s',
      ours.get(100_000),
      {
        'no rules (the floor)': floor,
        ...Object.fromEntries(PATH_CAPACITIES.filter((capacity) => capacity !== 100_000).map((capacity) => [`xtban, capacity ${capacity.toLocaleString('en')}`, ours.get(capacity)])),
        ...Object.fromEntries(PATH_CAPACITIES.map((capacity) => [`ipset hash:ip of ${capacity.toLocaleString('en')}, one rule`, sets.get(capacity)])),
      },
      { text: '≥ 85 % of a one-list jail (capacity 100) at 10,000 and 100,000', met: kept(10_000) >= 0.85 && kept(100_000) >= 0.85 },
    );
    row.kept = Object.fromEntries(PATH_CAPACITIES.map((capacity) => [capacity, Number(kept(capacity).toFixed(3))]));
  }
  await load100k();
}

// The packet path on Debian's stock kernel, booted in a VM (test/kernel/helpers/stock-kernel-vm.mjs), where
// xt_recent is a module: loaded with ip_list_tot=100,000, as /etc/modprobe.d/xtban.conf would have it, so
// every jail of the figure has one list. The same figure as \`path\`, run inside the VM; the VM emulates
// its CPU (this machine's KVM runs no stock kernel), so only the ratios inside it mean anything.
async function stockKernelPath() {
  const missing = stockKernelMissing();
  if (missing !== undefined) throw new Error(`the stock-kernel figure needs a VM: ${missing}`);
  const vm = mkdtempSync(join(work, 'vm-'));
  const script = [
    'set -e',
    'modprobe xt_recent ip_list_tot=100000',
    `cd ${JSON.stringify(root)}`,
    'XTBAN_BENCH_RESULTS="$OUT/results.json" node bench/run.mjs --only path',
  ].join('\n');
  const run = await runInStockKernel(`${script}\n`, { work: vm, timeoutMs: 3_600_000 });
  if (run.exitCode !== 0) throw new Error(`the bench in the stock-kernel VM failed (${run.exitCode}):\n${run.output.slice(-3000)}`);
  const inner = JSON.parse(readFileSync(join(run.out, 'results.json'), 'utf8')).figures;
  const label = `stock kernel ${stockKernel()?.version} in a VM (emulated CPU), ip_list_tot=100,000`;
  for (const row of inner) figures.push({ ...row, figure: `${label}: ${row.figure}` });
}

// 100,000 bans restored into emptied lists (a reboot), against ipset restore of the same addresses.
async function load100k() {
  const n = 100_000;
  say(`load, ${n.toLocaleString('en')} bans`);
  const { fw, client } = await pair('load');
  try {
    const { config, state, banMs } = await xtbanJail(fw, 6, n, 'load');
    await inNs(fw, process.execPath, [driver('flush-lists.mjs')]);
    const started = process.hrtime.bigint();
    const restored = JSON.parse((await xtban(fw, config, state, ['restore', '--json'])).stdout);
    const wholeMs = ms(started);
    if (restored.restored !== n) throw new Error(`restore put back ${restored.restored} of ${n}`);
    const ipsetMs = await ipsetRule(fw, 6, n);
    const row = figure(
      `load, ${n.toLocaleString('en')} IPv6 bans restored into empty lists (µs a ban; restore's own work, whole seconds below)`,
      'µs/ban',
      (restored.elapsedMs * 1000) / n,
      { 'xtban restore as a whole process': (wholeMs * 1000) / n, 'ipset restore (hash:ip)': (ipsetMs * 1000) / n, 'xtban ban, 5,000 a process': (banMs * 1000) / n },
      { text: 'seconds, not minutes (≤ 10 s)', met: wholeMs <= 10_000 },
    );
    row.seconds = { restore: Number((restored.elapsedMs / 1000).toFixed(2)), restoreProcess: Number((wholeMs / 1000).toFixed(2)), ipset: Number((ipsetMs / 1000).toFixed(2)), ban: Number((banMs / 1000).toFixed(2)) };
  } finally {
    await dropNamespaces(fw, client);
  }
}

function table() {
  const format = (value) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
  const lines = [];
  for (const row of figures) {
    lines.push(`${row.met ? 'MET ' : 'MISS'}  ${row.figure}`);
    lines.push(`      xtban ${format(row.xtban)} ${row.unit}   target ${row.target}`);
    for (const [name, value] of Object.entries(row.others)) {
      const ratio =
        row.unit === 'lines/s' || row.unit === 'conn/s'
          ? `xtban ${format(row.xtban / value)}x as fast`
          : value > row.xtban
            ? `${format(value / row.xtban)}x slower than xtban`
            : `xtban takes ${format(row.xtban / value)}x this`;
      lines.push(`      ${name}: ${format(value)} ${row.unit} (${ratio})`);
    }
    for (const [name, value] of Object.entries(row.details ?? {})) lines.push(`      ${name}: ${name.endsWith('missed') ? `${value} of the trials` : `${format(value)} ${row.unit}`}`);
    if (row.addresses) lines.push(`      addresses on the first ${row.addresses.slice} lines: ${JSON.stringify({ ...row.addresses, slice: undefined })}`);
    if (row.cpuSecondsIdle) lines.push(`      CPU seconds over ${row.cpuSecondsIdle.seconds} s idle: xtban ${row.cpuSecondsIdle.xtban}, fail2ban ${row.cpuSecondsIdle.fail2ban}`);
    if (row.processes) lines.push(`      processes counted: ${JSON.stringify(row.processes)}`);
    if (row.smaller) lines.push(`      xtban smaller: ${Object.entries(row.smaller).map(([what, yes]) => `${what} ${yes ? 'yes' : 'no'}`).join(', ')}`);
    if (row.nsPerList) lines.push(`      about ${row.nsPerList} ns a list walked, a packet (three packets a connection)`);
    if (row.kept) lines.push(`      kept of a one-list jail's rate, by capacity: ${JSON.stringify(row.kept)}`);
    if (row.seconds) lines.push(`      whole seconds: ${JSON.stringify(row.seconds)}`);
    if (row.residentMb) lines.push(`      resident MB, anonymous and file-backed: ${JSON.stringify(row.residentMb)}`);
  }
  return lines.join('\n');
}

try {
  if (process.getuid?.() !== 0) throw new Error('the benchmarks need root (network namespaces, iptables)');
  await execa('gcc', ['-O2', '-o', join(work, 'floor'), join(root, 'bench', 'floor.c')]);
  await execa('gcc', ['-O2', '-o', join(work, 'connect-rate'), join(root, 'bench', 'connect-rate.c')]);
  if (want('bulk')) for (const n of [1000, 10000]) say(`bulk load ${n}`), await bulkLoad(n);
  if (want('fresh')) say('fresh process'), await freshProcess();
  if (want('report')) say('report and reap'), await reportAndReap();
  if (['scan', 'scan-sshd', 'scan-nginx-error', 'scan-nginx-access'].some(want)) await scan();
  if (want('path')) await packetPath();
  if (want('lookup')) say('recent list lookup'), await listLookup();
  // Not in a run of everything: it takes about 36 minutes in the VM (its CPU is emulated).
  if (only.includes('stock')) say('packet path on the stock kernel, in a VM'), await stockKernelPath();
  if (want('detect')) say('detection to ban (200 trials each)'), await detection();
  if (want('idle')) say('idle footprint (20 s to settle, then 30 s, each side)'), await footprint();
  if (want('fleet')) await fleetFigures({ work, cli, namespaces, driver, figure, say, percentile });
  // XTBAN_BENCH_RESULTS: where the results go instead (the stock-kernel VM's run writes them to its share).
  const results = process.env.XTBAN_BENCH_RESULTS ?? join(root, 'bench', 'results', 'latest.json');
  mkdirSync(dirname(results), { recursive: true });
  writeFileSync(results, `${JSON.stringify({ at: new Date().toISOString(), figures }, null, 2)}\n`);
  console.log(table());
} catch (error) {
  console.error(`bench failed: ${error instanceof Error ? error.stack : String(error)}`);
  if (figures.length > 0) console.log(table());
  process.exitCode = 1;
}
