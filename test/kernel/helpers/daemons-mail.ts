// The mail group's real daemons (postfix, dovecot, vsftpd, MariaDB) for the filter tests: each runs in
// the fw namespace with its config, pid file, logs and data in the test's work directory, under
// isolate.mjs so that its syslog messages (and its PAM modules') go to a receiver of the test's, never
// to the host's /dev/log; clients run in attacker. Also the clients, the scan, and the capture of the
// logs as fixtures.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { journalLine, parseDatagram, rsyslogLine, type SyslogMessage } from '../../helpers/syslog-forms.js';
import { runXtban, type ExecResult, type Topology } from './netns.js';
import { type Daemon, track } from './daemon-process.js';
import { sleep } from './work.js';

export type { Daemon } from './daemon-process.js';

const HELPERS = fileURLToPath(new URL('.', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../fixtures/logs/', import.meta.url));

// The one account every daemon knows, and the innocent addresses an attacker writes into its text.
export const USER = { name: 'alice', password: 'S3cret-pass', uid: 2001 } as const;
export const INNOCENT = { ipv4: '203.0.113.9', ipv6: '2001:db8::9' } as const;
// A second client that logs in correctly, once: it must never be counted.
export const GOOD_CLIENT = '192.0.2.3';

// ---- processes ----

// A receiver for a daemon's syslog messages: a datagram socket in the work directory (isolate.mjs makes
// it the daemon's /dev/log), every datagram kept as received.
export interface SyslogReceiver extends Daemon {
  readonly socket: string;
  readonly file: string;
  // How many datagrams were received so far.
  count(): number;
  // The datagrams received since the first `from`, read as syslog(3) messages.
  messages(from?: number): SyslogMessage[];
  // Writes the datagrams received since the first `from`, as kept (JSON lines of bytes), to a file.
  save(from: number, file: string): void;
}

// It runs in fw (a socket in the file system is reached from any namespace), so that the topology's
// end ends it too, whatever becomes of the test.
export async function startSyslogReceiver(topology: Topology, dir: string): Promise<SyslogReceiver> {
  const socket = join(dir, 'dev-log.sock');
  const file = join(dir, 'datagrams.jsonl');
  writeFileSync(file, '');
  const child = spawn('ip', ['netns', 'exec', topology.names.fw, '/usr/bin/python3', join(HELPERS, 'syslog-receiver.py'), socket, file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const daemon = track('syslog receiver', child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the syslog receiver did not start: ${daemon.output()}`)), 5000);
    if (!child.stdout) return;
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      if (line === 'ready') resolve();
      else reject(new Error(`the syslog receiver said ${JSON.stringify(line)}`));
    });
  });
  const kept = (from: number) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .slice(from);
  return {
    ...daemon,
    socket,
    file,
    count: () => kept(0).length,
    messages: (from = 0) => readDatagrams(kept(from)),
    save: (from, target) =>
      writeFileSync(
        target,
        kept(from)
          .map((line) => `${line}\n`)
          .join(''),
      ),
  };
}

// Datagrams as the receiver keeps them (JSON lines), read as syslog(3) messages.
function readDatagrams(lines: readonly string[]): SyslogMessage[] {
  const messages: SyslogMessage[] = [];
  for (const line of lines) {
    const { us, bytes } = JSON.parse(line) as { us: number; bytes: number[] };
    const message = parseDatagram(Buffer.from(bytes), us);
    if (message) messages.push(message);
  }
  return messages;
}

// Writes what a receiver got since the first `from` datagrams in the two forms a host keeps it,
// rsyslog's file and journald's entries (syslog.log and journal.json in the directory), and the
// datagrams themselves (datagrams.jsonl); returns the three files.
export function writeSyslogForms(receiver: SyslogReceiver, from: number, dir: string): { syslog: string; journal: string; datagrams: string } {
  const messages = receiver.messages(from);
  const files = { syslog: join(dir, 'syslog.log'), journal: join(dir, 'journal.json'), datagrams: join(dir, 'datagrams.jsonl') };
  writeFileSync(files.syslog, messages.map((message) => `${rsyslogLine(message)}\n`).join(''));
  writeFileSync(files.journal, messages.map((message) => `${journalLine(message)}\n`).join(''));
  receiver.save(from, files.datagrams);
  return files;
}

// Starts COMMAND in fw under isolate.mjs: its own mount namespace, /dev/log the receiver's socket, and
// with `etc` an /etc whose upper layer holds the test's passwd and shadow.
export function startIsolated(
  topology: Topology,
  name: string,
  scratch: string,
  receiver: SyslogReceiver,
  command: readonly string[],
  options: { etc?: string; onStop?: () => Promise<void> } = {},
): Daemon {
  const [program, ...args] = command;
  if (program === undefined) throw new Error('no command');
  mkdirSync(scratch, { recursive: true });
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      topology.names.fw,
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      process.execPath,
      join(HELPERS, 'isolate.mjs'),
      '--host-pid',
      String(process.pid),
      '--scratch',
      scratch,
      '--dev-log',
      receiver.socket,
      ...(options.etc === undefined ? [] : ['--etc', options.etc]),
      '--',
      program,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return track(name, child, options.onStop);
}

// Waits until something listens on the TCP port in fw (asked of the kernel: no connection is made, so
// the daemon logs nothing for it).
export async function waitListening(topology: Topology, port: number, daemon: Daemon, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const result = await topology.exec('fw', 'ss', ['-Hltn', `sport = :${port}`], { timeoutMs: 5000 });
    if (result.stdout.trim() !== '') return;
    if (Date.now() - started > timeoutMs) throw new Error(`${daemon.name} does not listen on port ${port}:\n${daemon.output()}`);
    await sleep(100);
  }
}

// Waits until `count` lines of a file hold the text or match the pattern (a daemon's log lines, written
// after the clients').
export async function waitForLines(file: string, text: string | RegExp, count = 1, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    let content = '';
    try {
      content = readFileSync(file, 'utf8');
    } catch {
      // not written yet
    }
    const lines = content.split('\n').filter((line) => (typeof text === 'string' ? line.includes(text) : text.test(line)));
    if (lines.length >= count) return;
    if (Date.now() - started > timeoutMs) throw new Error(`${file} never held ${JSON.stringify(text)} ${count} times:\n${content.slice(-3000)}`);
    await sleep(100);
  }
}

// Waits until the receiver holds `count` messages (after the first `from`) that hold the text or match
// the pattern.
export async function waitForMessages(receiver: SyslogReceiver, from: number, text: string | RegExp, count = 1, timeoutMs = 20_000): Promise<SyslogMessage[]> {
  const started = Date.now();
  for (;;) {
    const messages = receiver.messages(from);
    const found = messages.filter((message) => (typeof text === 'string' ? message.message.includes(text) : text.test(message.message)));
    if (found.length >= count) return messages;
    if (Date.now() - started > timeoutMs)
      throw new Error(`the receiver never held ${JSON.stringify(text)} ${count} times:\n${messages.map((m) => JSON.stringify(m.message)).join('\n')}`);
    await sleep(100);
  }
}

// A directory the work directory's daemons can enter after dropping root (postfix, dovecot, vsftpd).
export function openDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  return dir;
}

// A SHA-512 crypt hash of the password, as /etc/shadow and dovecot's {SHA512-CRYPT} hold it.
export function cryptPassword(password: string): string {
  const result = spawnSync('openssl', ['passwd', '-6', '-salt', 'xtbantest', '-stdin'], { input: password, encoding: 'utf8', timeout: 5000 });
  if (result.status !== 0) throw new Error(`openssl passwd failed: ${result.stderr}`);
  return result.stdout.trim();
}

// The upper layer of an /etc in which USER is a system account (home in the work directory): copies of
// the host's passwd, shadow and group with one more line each. The host's files are only read.
export function etcWithUser(dir: string): string {
  const upper = openDir(join(dir, 'etc-upper'));
  const home = openDir(join(dir, 'home', USER.name));
  chownSync(home, USER.uid, USER.uid);
  const add = (file: string, line: string, mode: number) => {
    writeFileSync(join(upper, file), `${readFileSync(join('/etc', file), 'utf8').trimEnd()}\n${line}\n`, { mode });
  };
  add('passwd', `${USER.name}:x:${USER.uid}:${USER.uid}:${USER.name}:${home}:/bin/sh`, 0o644);
  add('group', `${USER.name}:x:${USER.uid}:`, 0o644);
  add('shadow', `${USER.name}:${cryptPassword(USER.password)}:19000:0:99999:7:::`, 0o640);
  return upper;
}

// ---- the daemons ----

// dovecot 2.3 for IMAP and POP3 on 143 and 110, and the SASL server postfix asks (auth-postfix in its
// base_dir): plaintext logins without TLS, virtual users in a passwd-file (USER), then the system's
// users through PAM (Debian's default passdb), and auth_verbose so that the auth process says why it
// refused. Its log: `log_path` in the work directory (dovecot's own format), or syslog.
// With `anyUserName`, auth_username_chars is empty (dovecot takes any character in a user name), so that
// an attacker's text reaches the auth process's lines too: the default refuses most of what an
// injection needs, and then only the login process writes the name.
export function dovecotConfig(
  dir: string,
  log: 'file' | 'syslog',
  options: { anyUserName?: boolean } = {},
): { config: string; log: string; authSocket: string; pidFile: string } {
  openDir(dir);
  const mail = openDir(join(dir, 'mail'));
  chownSync(mail, 65534, 65534);
  const users = join(dir, 'users');
  writeFileSync(users, `${USER.name}:{SHA512-CRYPT}${cryptPassword(USER.password)}:65534:65534::${join(mail, USER.name)}::\n`, { mode: 0o644 });
  const logFile = join(dir, 'dovecot.log');
  const baseDir = join(dir, 'run');
  const config = join(dir, `dovecot-${log}.conf`);
  writeFileSync(
    config,
    [
      'protocols = imap pop3',
      'listen = 192.0.2.1, 2001:db8::1',
      `base_dir = ${baseDir}`,
      `state_dir = ${openDir(join(dir, 'state'))}`,
      ...(log === 'file' ? [`log_path = ${logFile}`] : ['log_path = syslog', 'syslog_facility = mail']),
      'ssl = no',
      'disable_plaintext_auth = no',
      'auth_mechanisms = plain login',
      'auth_verbose = yes',
      ...(options.anyUserName ? ['auth_username_chars ='] : []),
      'mail_location = maildir:~/Maildir',
      'first_valid_uid = 1',
      'passdb {',
      '  driver = passwd-file',
      `  args = scheme=SHA512-CRYPT username_format=%u ${users}`,
      '}',
      'passdb {',
      '  driver = pam',
      '}',
      'userdb {',
      '  driver = passwd-file',
      `  args = username_format=%u ${users}`,
      '}',
      'service imap-login {',
      '  inet_listener imaps {',
      '    port = 0',
      '  }',
      '}',
      'service pop3-login {',
      '  inet_listener pop3s {',
      '    port = 0',
      '  }',
      '}',
      'service auth {',
      '  unix_listener auth-postfix {',
      '    mode = 0666',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  return { config, log: logFile, authSocket: join(baseDir, 'auth-postfix'), pidFile: join(baseDir, 'master.pid') };
}

// Starts dovecot in fw with dovecotConfig's config; resolves once IMAP and POP3 listen.
export async function startDovecot(
  topology: Topology,
  dir: string,
  receiver: SyslogReceiver,
  etc: string,
  log: 'file' | 'syslog',
  options: { anyUserName?: boolean } = {},
): Promise<Daemon & { log: string; authSocket: string }> {
  const setup = dovecotConfig(dir, log, options);
  const daemon = startIsolated(topology, `dovecot (${log})`, join(dir, `mounts-${log}`), receiver, ['dovecot', '-F', '-c', setup.config], { etc });
  await waitListening(topology, 143, daemon);
  await waitListening(topology, 110, daemon);
  return { ...daemon, log: setup.log, authSocket: setup.authSocket };
}

// postfix 3.7 with its own config directory: smtpd on port 25 of fw's addresses, SASL AUTH through
// dovecot's socket, no chroot, queue and data in the work directory. Its log: `maillog_file` through
// postlogd (postfix's own way to write a file without syslog), or syslog as Debian has it.
export function postfixConfig(dir: string, authSocket: string, log: 'file' | 'syslog'): { configDir: string; log: string } {
  const configDir = openDir(join(dir, `conf-${log}`));
  const queue = openDir(join(dir, `queue-${log}`));
  const data = openDir(join(dir, `data-${log}`));
  chownSync(data, postfixUid(), 0);
  const logFile = join(dir, 'mail.log');
  writeFileSync(
    join(configDir, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${queue}`,
      `data_directory = ${data}`,
      'mail_owner = postfix',
      'setgid_group = postdrop',
      'myhostname = mail.example.test',
      'mydomain = example.test',
      'mydestination = $myhostname, localhost',
      'inet_interfaces = 192.0.2.1, [2001:db8::1]',
      'inet_protocols = all',
      'mynetworks = 127.0.0.0/8',
      'alias_maps =',
      'alias_database =',
      'smtpd_sasl_auth_enable = yes',
      'smtpd_sasl_type = dovecot',
      `smtpd_sasl_path = ${authSocket}`,
      'smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination',
      ...(log === 'file' ? [`maillog_file = ${logFile}`, `maillog_file_prefixes = ${dir}`] : []),
      '',
    ].join('\n'),
  );
  const service = (name: string, type: string, priv: string, wakeup: string, limit: string, command: string) =>
    `${name.padEnd(10)} ${type.padEnd(10)} ${priv} - n ${wakeup} ${limit} ${command}`;
  writeFileSync(
    join(configDir, 'master.cf'),
    [
      service('smtp', 'inet', 'n', '-', '-', 'smtpd'),
      service('pickup', 'unix', 'n', '60', '1', 'pickup'),
      service('cleanup', 'unix', 'n', '-', '0', 'cleanup'),
      service('qmgr', 'unix', 'n', '300', '1', 'qmgr'),
      service('rewrite', 'unix', '-', '-', '-', 'trivial-rewrite'),
      service('bounce', 'unix', '-', '-', '0', 'bounce'),
      service('defer', 'unix', '-', '-', '0', 'bounce'),
      service('trace', 'unix', '-', '-', '0', 'bounce'),
      service('verify', 'unix', '-', '-', '1', 'verify'),
      service('flush', 'unix', 'n', '1000?', '0', 'flush'),
      service('proxymap', 'unix', '-', '-', '-', 'proxymap'),
      service('proxywrite', 'unix', '-', '-', '1', 'proxymap'),
      service('smtp', 'unix', '-', '-', '-', 'smtp'),
      service('relay', 'unix', '-', '-', '-', 'smtp'),
      service('showq', 'unix', 'n', '-', '-', 'showq'),
      service('error', 'unix', '-', '-', '-', 'error'),
      service('retry', 'unix', '-', '-', '-', 'error'),
      service('discard', 'unix', '-', '-', '-', 'discard'),
      service('local', 'unix', '-', '-', '-', 'local'),
      service('virtual', 'unix', '-', '-', '-', 'virtual'),
      service('lmtp', 'unix', '-', '-', '-', 'lmtp'),
      service('anvil', 'unix', '-', '-', '1', 'anvil'),
      service('scache', 'unix', '-', '-', '1', 'scache'),
      service('postlog', 'unix-dgram', 'n', '-', '1', 'postlogd'),
      '',
    ].join('\n'),
  );
  return { configDir, log: logFile };
}

// The postfix account's uid (postfix's data_directory must be its).
function postfixUid(): number {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postfix:'));
  const uid = Number(line?.split(':')[2]);
  if (!Number.isInteger(uid)) throw new Error('no postfix user (scripts/setup.sh installs postfix)');
  return uid;
}

// Starts postfix in fw with postfixConfig's config; resolves once smtpd listens.
export async function startPostfix(topology: Topology, dir: string, receiver: SyslogReceiver, authSocket: string, log: 'file' | 'syslog'): Promise<Daemon> {
  const { configDir } = postfixConfig(dir, authSocket, log);
  const scratch = join(dir, `mounts-${log}`);
  // `postfix check` makes the queue's directories; start-fg keeps the master in the foreground.
  const check = startIsolated(topology, 'postfix check', `${scratch}-check`, receiver, ['postfix', '-c', configDir, 'check']);
  await waitExit(check, 30_000);
  // start-fg runs postfix-script, a shell, with the master as its child: `postfix stop` ends the master,
  // and the script with it.
  const daemon = startIsolated(topology, `postfix (${log})`, scratch, receiver, ['postfix', '-c', configDir, 'start-fg'], {
    onStop: async () => {
      const stop = startIsolated(topology, 'postfix stop', `${scratch}-stop`, receiver, ['postfix', '-c', configDir, 'stop']);
      await waitExit(stop, 30_000);
    },
  });
  await waitListening(topology, 25, daemon);
  return daemon;
}

// Waits for a command that ends by itself; it must end well within the time.
async function waitExit(daemon: Daemon, timeoutMs: number): Promise<void> {
  const timer = setTimeout(() => void daemon.stop(), timeoutMs);
  const status = await daemon.exited;
  clearTimeout(timer);
  if (status !== 0) throw new Error(`${daemon.name} exited ${status}:\n${daemon.output()}`);
}

// vsftpd 3.0.3 as Debian ships it (listen_ipv6: one socket for both families, so IPv4 clients are
// ::ffff:a.b.c.d), local users through PAM (USER is one, in the /etc overlay), its log in the work
// directory in vsftpd's own format, or syslog_enable.
export async function startVsftpd(topology: Topology, dir: string, receiver: SyslogReceiver, etc: string, log: 'file' | 'syslog'): Promise<Daemon> {
  openDir(dir);
  const config = join(dir, `vsftpd-${log}.conf`);
  writeFileSync(
    config,
    [
      'listen=NO',
      'listen_ipv6=YES',
      'background=NO',
      'anonymous_enable=NO',
      'local_enable=YES',
      'write_enable=NO',
      'xferlog_enable=YES',
      `vsftpd_log_file=${join(dir, 'vsftpd.log')}`,
      ...(log === 'syslog' ? ['syslog_enable=YES'] : []),
      `secure_chroot_dir=${openDir(join(dir, 'empty'))}`,
      'pam_service_name=vsftpd',
      'ssl_enable=NO',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const daemon = startIsolated(topology, `vsftpd (${log})`, join(dir, `mounts-${log}`), receiver, ['vsftpd', config], { etc });
  await waitListening(topology, 21, daemon);
  return daemon;
}

// MariaDB 10.11: a data directory made by mariadb-install-db, listening on fw's two addresses, its
// error log in the work directory; USER exists (from anywhere) with its password. skip_name_resolve, as
// a host that bans by address needs: with name resolution MariaDB writes the client's host name.
export async function startMariadb(topology: Topology, dir: string, receiver: SyslogReceiver): Promise<{ daemon: Daemon; log: string }> {
  openDir(dir);
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const log = join(dir, 'error.log');
  const install = startIsolated(topology, 'mariadb-install-db', join(dir, 'mounts-install'), receiver, [
    'mariadb-install-db',
    '--no-defaults',
    `--datadir=${data}`,
    '--user=root',
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
  ]);
  await waitExit(install, 60_000);
  const daemon = startIsolated(topology, 'mariadbd', join(dir, 'mounts'), receiver, [
    'mariadbd',
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${socket}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--log-error=${log}`,
    '--user=root',
    '--bind-address=192.0.2.1,2001:db8::1',
    '--port=3306',
    '--skip-name-resolve',
  ]);
  await waitListening(topology, 3306, daemon, 30_000);
  await topology.execOk(
    'fw',
    'mariadb',
    ['--no-defaults', `--socket=${socket}`, '-u', 'root', '-e', `CREATE USER '${USER.name}'@'%' IDENTIFIED BY '${USER.password}'`],
    { timeoutMs: 10_000 },
  );
  return { daemon, log };
}

// ---- clients, in attacker ----

// curl with a deadline, from the attacker's first address unless `from` is given.
export function curl(topology: Topology, args: readonly string[], from?: string): Promise<ExecResult> {
  return topology.exec('attacker', 'curl', ['-sS', '--max-time', '30', ...(from ? ['--interface', from] : []), ...args], { timeoutMs: 40_000 });
}

// One login by the raw client (login-client.mjs), for names curl cannot send.
export async function rawLogin(
  topology: Topology,
  options: { proto: 'smtp' | 'imap' | 'pop3' | 'ftp'; host: string; port: number; user: string; pass: string; mech?: 'PLAIN' | 'LOGIN'; from?: string },
): Promise<{ ok: boolean; replies: string[]; why?: string }> {
  const result = await topology.exec('attacker', process.execPath, [join(HELPERS, 'login-client.mjs'), JSON.stringify({ timeoutMs: 30_000, ...options })], {
    timeoutMs: 40_000,
  });
  if (result.exitCode !== 0) throw new Error(`login-client failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as { ok: boolean; replies: string[]; why?: string };
}

// Whether curl can carry the name in --user: it splits at the first ':' and sends no control character.
export function curlCanSend(name: string): boolean {
  return !name.includes(':') && !/[\x00-\x1f\x7f]/.test(name);
}

// One login with curl (--user, --login-options AUTH=MECH), or with the raw client when curl cannot carry
// the name; ok: the server took it.
export async function login(
  topology: Topology,
  proto: 'smtp' | 'imap' | 'pop3' | 'ftp',
  host: string,
  user: string,
  pass: string,
  options: { mech?: 'PLAIN' | 'LOGIN'; from?: string } = {},
): Promise<{ ok: boolean; detail: string }> {
  const port = { smtp: 25, imap: 143, pop3: 110, ftp: 21 }[proto];
  if (!curlCanSend(user)) {
    const result = await rawLogin(topology, { proto, host, port, user, pass, ...options });
    return { ok: result.ok, detail: JSON.stringify(result) };
  }
  const url = `${proto}://${host.includes(':') ? `[${host}]` : host}/`;
  const result = await curl(
    topology,
    [
      url,
      '--user',
      `${user}:${pass}`,
      ...(options.mech && proto !== 'ftp' ? ['--login-options', `AUTH=${options.mech}`] : []),
      // After AUTH, a command every server answers, instead of curl's HELP.
      ...(proto === 'smtp' ? ['-X', 'NOOP'] : []),
    ],
    options.from,
  );
  return { ok: result.exitCode === 0, detail: `curl exited ${result.exitCode}: ${result.stderr.trim()}` };
}

// User names that put the innocent addresses where a filter might take them: the same for every daemon,
// then the daemon's own forms (its words around the address, a whole forged line after a newline).
export function injectedNames(own: readonly string[]): string[] {
  return [
    `x from ${INNOCENT.ipv4} port 22`,
    `x", client: ${INNOCENT.ipv4}, server: y`,
    `x'@'${INNOCENT.ipv4}`,
    `x rip=${INNOCENT.ipv4}`,
    `<x@${INNOCENT.ipv4}>`,
    `x from ${INNOCENT.ipv6} port 22`,
    `x rip=${INNOCENT.ipv6}, lip=192.0.2.1`,
    `[${INNOCENT.ipv6}]`,
    ...own,
  ];
}

// ---- xtban scan ----

// What `xtban scan --json` prints, the parts the tests read.
export interface ScanResult {
  addresses: { address: string; matches: number; wouldBan: boolean }[];
  wouldBan: { address: string; at: string }[];
  matched: number;
  missed: number;
  ambiguous: number;
  unparsed: number;
  lines: number;
}

// `xtban scan --filter FILTER --json` over the files, with every matching line a ban (--maxretry 1).
export async function scan(topology: Topology, filter: string, files: readonly string[]): Promise<ScanResult> {
  const result = await runXtban(topology, ['scan', '--filter', filter, '--json', '--maxretry', '1', '--findtime', '1d', ...files]);
  if (result.exitCode !== 0) throw new Error(`xtban scan exited ${result.exitCode}: ${result.stderr}`);
  return JSON.parse(result.stdout) as ScanResult;
}

// The scan found exactly the attacker's two addresses (IPv4 and IPv6), each would be banned, and no
// innocent address, no good client, no message read two ways.
export function expectOnlyAttacker(result: ScanResult, topology: Topology, what: string): void {
  const found = result.addresses.map((entry) => entry.address).sort();
  expect(found, what).not.toContain(INNOCENT.ipv4);
  expect(found, what).not.toContain(INNOCENT.ipv6);
  expect(found, what).not.toContain(GOOD_CLIENT);
  expect(found, what).toEqual([topology.addresses.attacker.ipv4, topology.addresses.attacker.ipv6].sort());
  expect(result.wouldBan.map((entry) => entry.address).sort(), what).toEqual(found);
  expect(result.ambiguous, what).toBe(0);
}

// ---- fixtures ----

// With XTBAN_CAPTURE_FIXTURES=1, copies the files as written to fixtures/logs/<filter>/<name>.
export function captureFixtures(filter: string, files: Record<string, string>): void {
  if (process.env['XTBAN_CAPTURE_FIXTURES'] !== '1') return;
  const dir = join(FIXTURES, filter);
  mkdirSync(dir, { recursive: true });
  for (const [name, file] of Object.entries(files)) {
    copyFileSync(file, join(dir, name));
    chmodSync(join(dir, name), 0o644);
  }
}
