// Runs a daemon with its own view of /dev/log (and optionally of /etc), so that nothing it or its PAM
// modules send to syslog reaches the host: run it as
//   unshare --mount --propagation private -- node isolate.mjs --host-pid PID --scratch DIR --dev-log SOCKET [--etc UPPER] -- CMD ARGS...
// inside that private mount namespace only, /dev becomes an overlay in which /dev/log is a link to
// SOCKET (a test's syslog receiver), and with --etc, /etc an overlay whose upper layer is UPPER (a test's
// passwd and shadow with its own users). The host's /dev and /etc are read, never written. The command
// runs as a child (mounts are inherited); SIGTERM, SIGINT and SIGHUP are passed on to it, and this
// process exits with the child's status.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const end = argv.indexOf('--');
if (end === -1 || end === argv.length - 1) {
  process.stderr.write('usage: isolate.mjs --host-pid PID --scratch DIR --dev-log SOCKET [--etc UPPER] -- CMD ARGS...\n');
  process.exit(2);
}
const flags = new Map();
for (let i = 0; i < end; i += 2) flags.set(argv[i], argv[i + 1]);
const scratch = flags.get('--scratch');
const devLog = flags.get('--dev-log');
const hostPid = flags.get('--host-pid');
if (!scratch || !devLog || !hostPid) {
  process.stderr.write('isolate.mjs: --host-pid, --scratch and --dev-log are required\n');
  process.exit(2);
}

// The mounts must never reach the host: refuse to run in the mount namespace of the process that
// started it (the test, in the host's).
if (readlinkSync('/proc/self/ns/mnt') === readlinkSync(`/proc/${hostPid}/ns/mnt`)) {
  process.stderr.write('isolate.mjs: not in a private mount namespace (run it under unshare --mount)\n');
  process.exit(2);
}

function overlay(target, upper, name) {
  const work = join(scratch, `${name}-work`);
  mkdirSync(upper, { recursive: true });
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  execFileSync('mount', ['-t', 'overlay', `xtban-${name}`, '-o', `lowerdir=${target},upperdir=${upper},workdir=${work}`, target]);
}

overlay('/dev', join(scratch, 'dev-upper'), 'dev');
rmSync('/dev/log', { force: true });
symlinkSync(devLog, '/dev/log');
const etc = flags.get('--etc');
if (etc) overlay('/etc', etc, 'etc');

const [command, ...args] = argv.slice(end + 1);
const child = spawn(command, args, { stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('error', (error) => {
  process.stderr.write(`isolate.mjs: ${command}: ${error.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
