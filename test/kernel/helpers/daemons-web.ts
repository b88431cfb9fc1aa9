// The web group's real daemons (nginx 1.22, apache 2.4) for the filter tests: each runs in the fw
// namespace with its config, pid file, logs and temp dirs in the test's work directory; clients (curl,
// and raw-http.mjs for requests curl will not send) run in attacker. nginx sends to the mail harness's
// syslog receiver by its socket's path (error_log syslog:server=unix:PATH), which needs no /dev/log; the
// receiver, the syslog forms, the fixtures' capture, the account and the innocent addresses are the
// mail harness's.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Daemon, track } from './daemon-process.js';
import { USER } from './daemons-mail.js';
import { runXtban, type Topology } from './netns.js';
import { sleep } from './work.js';

export { captureFixtures, type Daemon, GOOD_CLIENT, INNOCENT, startSyslogReceiver, type SyslogReceiver, USER, writeSyslogForms } from './daemons-mail.js';

const HELPERS = fileURLToPath(new URL('.', import.meta.url));

// ---- processes ----

// Makes the work directory readable by the daemons' unprivileged workers (www-data): mkdtemp made it 0700.
export function openDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
}

// Waits until the daemon answers HTTP on port from attacker (any status), or fails with its output.
async function waitForHttp(topology: Topology, port: number, daemon: Daemon, startupLog?: string): Promise<void> {
  const started = Date.now();
  let exited: number | string | undefined;
  void daemon.exited.then((code) => {
    exited = code;
  });
  for (;;) {
    if (exited !== undefined) break;
    const result = await topology.exec(
      'attacker',
      'curl',
      ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', `http://${topology.addresses.fw.ipv4}:${port}/`],
      {
        timeoutMs: 5000,
      },
    );
    if (/^[1-5]\d\d$/.test(result.stdout)) return;
    if (Date.now() - started > 15_000) break;
    await sleep(100);
  }
  await daemon.stop();
  const startup = startupLog && existsSync(startupLog) ? readFileSync(startupLog, 'utf8') : '';
  throw new Error(`${daemon.name} did not answer on port ${port}${exited === undefined ? '' : ` (exited: ${exited})`}:\n${daemon.output()}\n${startup}`);
}

// The htpasswd file with USER (apr1, as `htpasswd` and `openssl passwd -apr1` write it), readable by www-data.
export async function writeHtpasswd(topology: Topology, file: string): Promise<void> {
  const hash = (await topology.execOk('fw', 'openssl', ['passwd', '-apr1', USER.password])).stdout.trim();
  writeFileSync(file, `${USER.name}:${hash}\n`, { mode: 0o644 });
}

// nginx as an administrator runs it: workers as www-data, its error log (at `level`) and combined access
// log in dir, and also to the test's syslog socket when `syslog` names them (the receiver's socket must be
// writable by www-data); temp paths in dir; `http` is the servers.
export async function startNginx(
  topology: Topology,
  dir: string,
  options: { http: string; errorLevel?: string; syslog?: { socket: string; logs: readonly ('error' | 'access')[] } },
): Promise<Daemon> {
  openDir(dir);
  const level = options.errorLevel ?? 'error';
  const syslog = options.syslog?.socket;
  const toSyslog = (log: 'error' | 'access'): boolean => syslog !== undefined && (options.syslog?.logs.includes(log) ?? false);
  const config = [
    'user www-data;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} ${level};`,
    ...(toSyslog('error') ? [`error_log syslog:server=unix:${syslog} ${level};`] : []),
    'events { worker_connections 64; }',
    'http {',
    `  access_log ${join(dir, 'access.log')} combined;`,
    ...(toSyslog('access') ? [`  access_log syslog:server=unix:${syslog} combined;`] : []),
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, 'tmp', kind)};`),
    options.http,
    '}',
    '',
  ].join('\n');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), config);
  // -e: nginx's own startup messages go to dir too, never to /var/log/nginx.
  const startupLog = join(dir, 'startup.log');
  const child = spawn(
    'ip',
    ['netns', 'exec', topology.names.fw, '/usr/sbin/nginx', '-e', startupLog, '-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const daemon = track('nginx', child);
  await waitForHttp(topology, 80, daemon, startupLog);
  return daemon;
}

// The modules an apache with basic, digest and host-based access control loads (Debian's a2enmod would
// link the same .load files).
const APACHE_MODULES = ['mpm_event', 'authn_core', 'authn_file', 'authz_core', 'authz_host', 'authz_user', 'auth_basic', 'auth_digest', 'dir'];

// apache 2.4 as Debian's packaging runs it, but with everything in dir: one process (-X), mpm_event (so
// its lines carry [pid N:tid M]), the default error-log format at LogLevel warn, the combined access log.
export async function startApache(topology: Topology, dir: string, body: string): Promise<Daemon> {
  openDir(dir);
  const run = join(dir, 'run');
  mkdirSync(run, { recursive: true });
  const config = [
    'ServerRoot /etc/apache2',
    'ServerName localhost',
    `DefaultRuntimeDir ${run}`,
    `PidFile ${join(dir, 'apache2.pid')}`,
    `Mutex file:${run} default`,
    'User www-data',
    'Group www-data',
    ...APACHE_MODULES.map((name) => `LoadModule ${name}_module /usr/lib/apache2/modules/mod_${name}.so`),
    'Listen 80',
    `ErrorLog ${join(dir, 'error.log')}`,
    'LogLevel warn',
    'LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined',
    `CustomLog ${join(dir, 'access.log')} combined`,
    body,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'apache2.conf'), config);
  const env = {
    ...process.env,
    APACHE_RUN_USER: 'www-data',
    APACHE_RUN_GROUP: 'www-data',
    APACHE_RUN_DIR: run,
    APACHE_LOCK_DIR: run,
    APACHE_LOG_DIR: dir,
    APACHE_PID_FILE: join(dir, 'apache2.pid'),
    LANG: 'C',
  };
  const child = spawn('ip', ['netns', 'exec', topology.names.fw, '/usr/sbin/apache2', '-X', '-f', join(dir, 'apache2.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const daemon = track('apache2', child);
  await waitForHttp(topology, 80, daemon);
  return daemon;
}

// ---- clients ----

// One HTTP request with curl from attacker (from `from`, one of its addresses, when given); the status
// (0 when there was none). -g and --path-as-is: the URL goes out as written.
export async function curl(topology: Topology, url: string, args: readonly string[] = [], from?: string): Promise<number> {
  const result = await topology.exec(
    'attacker',
    'curl',
    ['-s', '-g', '--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', ...(from ? ['--interface', from] : []), ...args, url],
    { timeoutMs: 10_000 },
  );
  return Number(result.stdout.trim() || '0');
}

// One request sent byte for byte from attacker (raw-http.mjs); the answer's first line.
export async function rawHttp(topology: Topology, host: string, port: number, request: string | Buffer, from?: string): Promise<string> {
  const bytes = typeof request === 'string' ? Buffer.from(request, 'latin1') : request;
  const result = await topology.exec(
    'attacker',
    process.execPath,
    [join(HELPERS, 'raw-http.mjs'), host, String(port), bytes.toString('base64'), ...(from ? [from] : [])],
    { timeoutMs: 10_000 },
  );
  return JSON.parse(result.stdout.trim() || '""') as string;
}

// A basic-auth header for a user name and password exactly as given (curl -u would cut the user at ':').
export function basicAuth(user: string, password: string): string {
  return `Authorization: Basic ${Buffer.from(`${user}:${password}`, 'latin1').toString('base64')}`;
}

// Waits until `count` lines of file match (the access log is written as a request ends, after its answer).
export async function waitForLines(file: string, pattern: RegExp | string, count = 1, timeoutMs = 10_000): Promise<string> {
  const started = Date.now();
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const found = text.split('\n').filter((line) => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line))).length;
    if (found >= count) return text;
    if (Date.now() - started > timeoutMs) throw new Error(`${file}: ${found} of ${count} lines matching ${String(pattern)} within ${timeoutMs} ms:\n${text}`);
    await sleep(100);
  }
}

// ---- the scan and the fixtures ----

export interface ScanResult {
  lines: number;
  matched: number;
  missed: number;
  unparsed: number;
  ambiguous: number;
  addresses: { address: string; matches: number; wouldBan: boolean }[];
  wouldBan: { address: string; at: string }[];
}

// `xtban scan --filter NAME --json --maxretry N FILES` (the built CLI), in fw.
export async function scan(topology: Topology, filter: string, files: readonly string[], maxretry = 2): Promise<ScanResult> {
  const result = await runXtban(topology, ['scan', '--filter', filter, '--json', '--maxretry', String(maxretry), '--findtime', '1d', ...files]);
  if (result.exitCode !== 0) throw new Error(`xtban scan exited ${result.exitCode}: ${result.stderr}`);
  return JSON.parse(result.stdout) as ScanResult;
}
