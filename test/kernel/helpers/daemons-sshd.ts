// The real OpenSSH server for the sshd filter tests: sshd -D in the fw namespace with a config of its own
// (PAM, passwords, keyboard-interactive, root allowed), logging to a file of its own (-E) or through
// syslog(3) to a private /dev/log (syslog-sink.py, which writes what arrives as rsyslog writes
// /var/log/auth.log), and the clients that fail against it from attacker: OpenSSH's ssh (keys,
// certificates, negotiation) and ssh-raw-client.mjs (what ssh refuses to send).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecResult, Topology } from './netns.js';
import { sleep } from './work.js';

const HELPERS = fileURLToPath(new URL('.', import.meta.url));
const RAW_CLIENT = join(HELPERS, 'ssh-raw-client.mjs');
const SYSLOG_SINK = join(HELPERS, 'syslog-sink.py');
// Debian's python3 (fail2ban's), not one of a user's environments.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// One sshd: where it listens and the files it writes.
export interface Sshd {
  name: string;
  port: number;
  // 'file': sshd -E FILE (its own messages; PAM's go to syslog); 'syslog': everything through syslog.
  output: 'file' | 'syslog';
  logLevel: 'INFO' | 'VERBOSE';
  // sshd's own file (-E), when output is 'file'.
  logFile: string | undefined;
  // What arrived on the private /dev/log, as rsyslog writes it.
  syslogFile: string;
  stop(): Promise<void>;
}

// The keys the tests use, made once per work directory: the host key, a key the server accepts for
// nobody, keys it has never seen, a CA it trusts and one it does not.
export interface SshKeys {
  host: string;
  accepted: string;
  unknown: string[];
  trustedCa: string;
  untrustedCa: string;
}

export function makeKeys(work: string): SshKeys {
  const key = (name: string): string => {
    const path = join(work, name);
    if (!existsSync(path)) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path], { stdio: 'ignore' });
    return path;
  };
  const keys: SshKeys = {
    host: key('host_key'),
    accepted: key('accepted_key'),
    unknown: Array.from({ length: 7 }, (_, i) => key(`unknown_key_${i + 1}`)),
    trustedCa: key('trusted_ca'),
    untrustedCa: key('untrusted_ca'),
  };
  // sshd reads a user's authorized keys as that user: nobody must reach them (the keys stay 0600).
  chmodSync(work, 0o711);
  mkdirSync(join(work, 'authorized_keys'), { recursive: true, mode: 0o755 });
  writeFileSync(join(work, 'authorized_keys', 'nobody'), readFileSync(`${keys.accepted}.pub`), { mode: 0o644 });
  return keys;
}

// A certificate for `key` signed by the CA the server does not trust, with this key ID (ssh-keygen -s).
export function signCertificate(work: string, keys: SshKeys, key: string, id: string, name: string): string {
  const copy = join(work, name);
  writeFileSync(copy, readFileSync(key), { mode: 0o600 });
  writeFileSync(`${copy}.pub`, readFileSync(`${key}.pub`));
  const signed = spawnSync('ssh-keygen', ['-q', '-s', keys.untrustedCa, '-I', id, '-n', 'root', `${copy}.pub`], { encoding: 'utf8' });
  if (signed.status !== 0) throw new Error(`ssh-keygen -s: ${signed.stderr}`);
  return copy;
}

// Starts sshd in fw as an administrator would configure it for password logins with PAM, and waits until
// it listens (read from its log: probing the port would leave a connection of its own in it).
export async function startSshd(
  topology: Topology,
  work: string,
  keys: SshKeys,
  options: { name: string; port: number; output: 'file' | 'syslog'; logLevel: 'INFO' | 'VERBOSE' },
): Promise<Sshd> {
  const { name, port, output, logLevel } = options;
  const config = join(work, `${name}_config`);
  const logFile = output === 'file' ? join(work, `${name}.log`) : undefined;
  const syslogFile = join(work, `${name}-syslog.log`);
  mkdirSync('/run/sshd', { recursive: true });
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 0.0.0.0',
      'ListenAddress ::',
      `HostKey ${keys.host}`,
      `PidFile ${join(work, `${name}.pid`)}`,
      'UsePAM yes',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication yes',
      'PermitRootLogin yes',
      // Keys of the test's own, in the work directory (under /tmp, hence StrictModes no).
      `AuthorizedKeysFile ${join(work, 'authorized_keys', '%u')}`,
      'StrictModes no',
      `TrustedUserCAKeys ${keys.trustedCa}.pub`,
      'DenyUsers daemon',
      // Every case runs at once: none may be dropped for MaxStartups.
      'MaxStartups 200',
      'SyslogFacility AUTH',
      `LogLevel ${logLevel}`,
      '',
    ].join('\n'),
  );
  if (logFile) writeFileSync(logFile, '');
  writeFileSync(syslogFile, '');
  const command = ['/usr/sbin/sshd', '-D', '-f', config, ...(logFile ? ['-E', logFile] : [])];
  const child: ChildProcess = spawn('ip', ['netns', 'exec', topology.names.fw, PYTHON, SYSLOG_SINK, syslogFile, 'fw', '--', ...command], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output_ = '';
  child.stdout?.on('data', (chunk: Buffer) => (output_ += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output_ += chunk.toString()));
  const listening = `Server listening on :: port ${port}.`;
  const started = Date.now();
  while (!(existsSync(logFile ?? syslogFile) && readFileSync(logFile ?? syslogFile, 'utf8').includes(listening))) {
    if (child.exitCode !== null || Date.now() - started > 10_000) {
      child.kill('SIGKILL');
      throw new Error(`sshd ${name} did not start:\n${output_}\n${readFileSync(logFile ?? syslogFile, 'utf8')}`);
    }
    await sleep(50);
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    for (let i = 0; i < 50 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return { name, port, output, logLevel, logFile, syslogFile, stop };
}

// What ssh-raw-client.mjs reports about one connection.
export interface RawResult {
  server?: string;
  results: string[];
  disconnect?: string;
  error?: string;
}

// The spec of one connection of ssh-raw-client.mjs (its header says each field).
export interface RawSpec {
  steps?: {
    user?: string;
    userHex?: string;
    service?: string;
    method: 'none' | 'password' | 'keyboard-interactive';
    password?: string;
    responses?: string[];
  }[];
  end?: 'disconnect' | 'close';
  reasonCode?: number;
  description?: string;
  raw?: string;
  silentMs?: number;
}

// One connection of the raw client from `from` (an address of attacker) to host:port.
export async function rawSsh(topology: Topology, host: string, port: number, from: string, spec: RawSpec): Promise<RawResult> {
  const result = await topology.exec('attacker', process.execPath, [RAW_CLIENT, host, String(port), from, JSON.stringify({ timeoutMs: 40_000, ...spec })], {
    timeoutMs: 45_000,
  });
  try {
    return JSON.parse(result.stdout) as RawResult;
  } catch {
    throw new Error(`ssh-raw-client from ${from}: exit ${result.exitCode}: ${result.stdout}${result.stderr}`);
  }
}

// OpenSSH's client from `from`, with no user config, no agent and no known hosts; a password prompt is
// answered by SSH_ASKPASS with a wrong password.
export function openSsh(topology: Topology, work: string, host: string, port: number, from: string, user: string, options: string[]): Promise<ExecResult> {
  const askpass = join(work, 'askpass');
  if (!existsSync(askpass)) writeFileSync(askpass, '#!/bin/sh\necho not-the-password\n', { mode: 0o755 });
  return topology.exec(
    'attacker',
    'ssh',
    [
      '-F',
      '/dev/null',
      '-b',
      from,
      '-p',
      String(port),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'IdentityAgent=none',
      '-o',
      'ConnectTimeout=5',
      '-o',
      'LogLevel=ERROR',
      ...options,
      '-l',
      user,
      host,
      'true',
    ],
    { timeoutMs: 40_000, env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: 'xtban-test:0', HOME: work } },
  );
}

const FIXTURES = fileURLToPath(new URL('../../../fixtures/logs/', import.meta.url));

// With XTBAN_CAPTURE_FIXTURES=1, copies the files as written to fixtures/logs/<filter>/<name>.
export function captureFixtures(filter: string, files: Record<string, string>): void {
  if (process.env['XTBAN_CAPTURE_FIXTURES'] !== '1') return;
  const dir = join(FIXTURES, filter);
  mkdirSync(dir, { recursive: true });
  for (const [name, file] of Object.entries(files)) copyFileSync(file, join(dir, name));
}
