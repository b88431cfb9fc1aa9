// A container booted with systemd as PID 1 on a throwaway overlay of this machine's own Debian, with a
// network namespace of its own (--private-network): its iptables rules and xt_recent lists are its own,
// the host's are never touched. xtban is installed into it from the packed tarball (see install.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, it } from 'vitest';

const SBIN = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Container {
  name: string;
  // The merged root, as a directory of this machine: files can be put in place from outside.
  root: string;
  leader: number;
  // Runs a command inside (every namespace of the container's PID 1); never throws on exit codes.
  exec(command: string, args?: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  // The same, failing with the command's output when it exits non-zero.
  run(command: string, args?: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  writeFile(path: string, text: string, mode?: number): void;
  readFile(path: string): string;
  // Powers the container off and boots it again on the same overlay: files persist, kernel state does not.
  reboot(): Promise<void>;
  destroy(): Promise<void>;
}

// Whether this machine can boot the system layer, or why not.
export function systemLayerMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: the system tests boot a container with systemd-nspawn';
  if (spawnSync('systemd-nspawn', ['--version']).status !== 0)
    return 'systemd-nspawn not found (Debian: apt-get install systemd-container; scripts/setup.sh does)';
  return undefined;
}

// describe() for a system test file: skipped with a visible message without root, a failure under CI=true.
export function describeSystem(name: string, body: () => void): void {
  const missing = systemLayerMissing();
  if (missing !== undefined) {
    if (process.env['CI'] === 'true') {
      it(`${name}: can run (CI=true forbids skipping)`, () => {
        throw new Error(missing);
      });
    } else console.warn(`\n*** system tests skipped (${name}): ${missing}\n`);
  }
  describe.skipIf(missing !== undefined)(name, body);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls until check() is true; fails with what was waited for.
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 100): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

function must(result: ReturnType<typeof spawnSync>, what: string): void {
  if (result.status !== 0) throw new Error(`${what} failed: ${String(result.stderr ?? '')}`);
}

// The tests run the units with a denied system call killing the unit (as systemd does without
// SystemCallErrorNumber=), so that a call the filter lacks shows as a SIGSYS instead of a quiet EPERM.
export function strictSyscallFilter(container: Container, units: readonly string[]): void {
  for (const unit of units) container.writeFile(`/etc/systemd/system/${unit}.d/strict-syscall-filter.conf`, '[Service]\nSystemCallErrorNumber=kill\n');
}

// Boots a container named `name`, with `stage` (a tree laid over /, holding the installed package) copied
// into its overlay. Call destroy() in afterAll; a test process that ends without it (a signal, a crash)
// kills the container and unmounts on its way out.
export async function bootContainer(name: string, stage: string): Promise<Container> {
  const dir = mkdtempSync(`/tmp/xtban-system-${name}-`);
  const upper = join(dir, 'upper');
  const root = join(dir, 'root');
  mkdirSync(upper);
  mkdirSync(root);
  // Unmounts what is mounted; the directory is removed only once nothing is mounted in it (removing
  // through a live overlay of / would walk the whole file system).
  const unmount = () => {
    const unmounted = [root, upper].map(
      (path) =>
        spawnSync('mountpoint', ['-q', path]).status !== 0 || spawnSync('umount', [path]).status === 0 || spawnSync('umount', ['-l', path]).status === 0,
    );
    if (unmounted.every(Boolean) && spawnSync('mountpoint', ['-q', root]).status !== 0 && spawnSync('mountpoint', ['-q', upper]).status !== 0)
      rmSync(dir, { recursive: true, force: true });
  };
  try {
    must(spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs', upper]), 'mount tmpfs');
    mkdirSync(join(upper, 'u'));
    mkdirSync(join(upper, 'w'));
    // The stage goes into the upper layer: overlayfs refuses a lower layer inside another one (/).
    cpSync(stage, join(upper, 'u'), { recursive: true, verbatimSymlinks: true });
    must(spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=/,upperdir=${join(upper, 'u')},workdir=${join(upper, 'w')}`, root]), 'mount overlay');
  } catch (error) {
    unmount();
    throw error;
  }

  let nspawn: ChildProcess | undefined;
  let leader = 0;
  const start = async () => {
    nspawn = spawn('systemd-nspawn', ['--quiet', '--register=no', '--keep-unit', '--private-network', '-D', root, '-M', name, '--boot'], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const pid = nspawn.pid ?? 0;
    leader = await leaderOf(pid);
    // Until PID 1 has its bus up, systemctl cannot ask it anything: ask again.
    const booted = Date.now();
    for (;;) {
      const state = await execa('nsenter', ['--target', String(leader), '--all', 'systemctl', 'is-system-running', '--wait'], {
        env: { PATH: SBIN },
        extendEnv: false,
        reject: false,
        timeout: 60_000,
      });
      if (['running', 'degraded'].includes(state.stdout.trim())) break;
      if (Date.now() - booted > 60_000) throw new Error(`container ${name} did not boot: ${state.stdout} ${state.stderr}`);
      await sleep(200);
    }
  };
  const stop = async () => {
    const child = nspawn;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // nspawn turns SIGTERM into an orderly poweroff of the container.
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };

  const exec: Container['exec'] = async (command, args = [], options = {}) => {
    // An administrator's root shell's environment, not this test process's (XTBAN_STATE_DIR and the like).
    const result = await execa('nsenter', ['--target', String(leader), '--all', '--', command, ...args], {
      env: { PATH: SBIN, HOME: '/root', LANG: 'C.UTF-8', TERM: 'dumb' },
      extendEnv: false,
      reject: false,
      timeout: options.timeoutMs ?? 60_000,
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    });
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
  };
  const container: Container = {
    name,
    root,
    get leader() {
      return leader;
    },
    exec,
    async run(command, args = [], options = {}) {
      const result = await exec(command, args, options);
      if (result.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.exitCode}:\n${result.stdout}\n${result.stderr}`);
      return result.stdout;
    },
    writeFile(path, text, mode = 0o644) {
      const target = join(root, path);
      mkdirSync(join(target, '..'), { recursive: true });
      writeFileSync(target, text, { mode });
    },
    readFile(path) {
      return readFileSync(join(root, path), 'utf8');
    },
    async reboot() {
      await stop();
      await start();
    },
    async destroy() {
      await stop();
      unmount();
    },
  };
  // A test process that ends without its afterAll (Ctrl-C, a timeout's SIGTERM) still leaves no container.
  const onExit = () => {
    if (nspawn?.pid !== undefined && nspawn.exitCode === null && nspawn.signalCode === null) spawnSync('kill', ['-KILL', String(nspawn.pid)]);
    spawnSync('sleep', ['0.5']);
    unmount();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    onExit();
    process.kill(process.pid, signal);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const destroy = container.destroy;
  container.destroy = async () => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await destroy();
  };
  try {
    await start();
  } catch (error) {
    await container.destroy();
    throw error;
  }
  return container;
}

// The container's PID 1: the nspawn process's child running systemd.
async function leaderOf(nspawnPid: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < 20_000) {
    try {
      const children = readFileSync(`/proc/${nspawnPid}/task/${nspawnPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      for (const child of children) {
        if (readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'systemd') return child;
      }
    } catch {
      // not yet
    }
    await sleep(50);
  }
  throw new Error(`systemd-nspawn (pid ${nspawnPid}) started no systemd within 20 s`);
}

// An attacker in a network namespace inside the container, on a veth pair: the container is 192.0.2.1,
// the attacker holds `addresses` (the first is its primary). Its ssh logins fail (a key nobody accepts).
export interface Attacker {
  // One failed ssh login from `from` to the container's sshd on port 22 (a key nobody accepts); resolves
  // when the client gave up.
  failLogin(from?: string): Promise<ExecResult>;
  // One wrong password (sshd logs "Failed password for nobody from ..."), as brute-forcers do.
  failPassword(from?: string): Promise<ExecResult>;
  // A TCP connect to port on the container from `from`: open, refused, or dropped (no answer in 1 s).
  probe(port: number, from?: string): Promise<'open' | 'refused' | 'dropped'>;
}

export const HOST_ADDRESS = '192.0.2.1';

export async function addAttacker(container: Container, addresses: readonly string[]): Promise<Attacker> {
  const [primary] = addresses;
  if (primary === undefined) throw new Error('an attacker needs an address');
  const commands = [
    ['ip', 'netns', 'add', 'attacker'],
    ['ip', 'link', 'add', 'xt0', 'type', 'veth', 'peer', 'name', 'xt1'],
    ['ip', 'link', 'set', 'xt1', 'netns', 'attacker'],
    ['ip', 'addr', 'add', `${HOST_ADDRESS}/24`, 'dev', 'xt0'],
    ['ip', 'link', 'set', 'xt0', 'up'],
    ['ip', 'link', 'set', 'lo', 'up'],
    ...addresses.map((address) => ['ip', 'netns', 'exec', 'attacker', 'ip', 'addr', 'add', `${address}/24`, 'dev', 'xt1']),
    ['ip', 'netns', 'exec', 'attacker', 'ip', 'link', 'set', 'xt1', 'up'],
    ['ip', 'netns', 'exec', 'attacker', 'ip', 'link', 'set', 'lo', 'up'],
    ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/root/attacker_key'],
  ];
  container.writeFile('/root/askpass', '#!/bin/sh\necho wrong-password\n', 0o755);
  for (const [command, ...args] of commands) await container.run(command ?? 'true', args);
  return {
    failLogin: (from = primary) =>
      container.exec(
        'ip',
        [
          'netns',
          'exec',
          'attacker',
          'ssh',
          '-b',
          from,
          '-i',
          '/root/attacker_key',
          '-o',
          'BatchMode=yes',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'ConnectTimeout=2',
          '-o',
          'LogLevel=ERROR',
          `nobody@${HOST_ADDRESS}`,
          'true',
        ],
        { timeoutMs: 10_000 },
      ),
    failPassword: (from = primary) =>
      container.exec(
        'ip',
        [
          'netns',
          'exec',
          'attacker',
          'env',
          'SSH_ASKPASS=/root/askpass',
          'SSH_ASKPASS_REQUIRE=force',
          'DISPLAY=none',
          'setsid',
          '-w',
          'ssh',
          '-b',
          from,
          '-o',
          'PreferredAuthentications=password',
          '-o',
          'PubkeyAuthentication=no',
          '-o',
          'NumberOfPasswordPrompts=1',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'ConnectTimeout=2',
          '-o',
          'LogLevel=ERROR',
          `nobody@${HOST_ADDRESS}`,
          'true',
        ],
        { timeoutMs: 15_000 },
      ),
    async probe(port, from = primary) {
      const script =
        'import socket,sys\ns=socket.socket(); s.bind((sys.argv[1],0)); s.settimeout(1)\ntry:\n  s.connect((sys.argv[2],int(sys.argv[3]))); print("open")\nexcept ConnectionRefusedError: print("refused")\nexcept OSError: print("dropped")\n';
      const result = await container.exec('ip', ['netns', 'exec', 'attacker', 'python3', '-c', script, from, HOST_ADDRESS, String(port)], { timeoutMs: 5000 });
      const answer = result.stdout.trim();
      if (answer !== 'open' && answer !== 'refused' && answer !== 'dropped') throw new Error(`probe failed: ${result.stderr}`);
      return answer;
    },
  };
}

// The lines of a unit's journal (message only) at or above a priority, as `journalctl -o cat` prints them.
export async function journalLines(container: Container, unit: string, priority?: string): Promise<string[]> {
  const args = ['-u', unit, '-o', 'cat', '--no-pager', ...(priority ? ['-p', priority] : [])];
  return (await container.run('journalctl', args)).split('\n').filter(Boolean);
}
