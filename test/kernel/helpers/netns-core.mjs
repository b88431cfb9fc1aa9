// Throwaway network namespaces, shared by the kernel tests (netns.ts) and the benchmarks (bench/run.mjs):
// their names, creating them, running a command inside one, deleting them and sweeping a dead run's leftovers.
// Plain ES module so that bench/run.mjs imports it without a build; netns-core.d.mts types it for the tests.
// Every name starts with xtb- and carries the pid of the process that made it, so sweepLeftovers can tell a
// crashed run's namespaces from a live one's; nothing here acts on a namespace without that prefix.
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';

export const NAME_PREFIX = 'xtb-';

// The names made here: a test topology's xtb-<short>-<pid>-<n>-<role> (a fleet's hub and hosts h1, h2...), a benchmark's xtb-bench-<pid>-<name>.
const OWNED = [/^xtb-[a-z0-9]+-(\d+)-\d+-(?:fw|attacker|server|hub|h\d+)$/, /^xtb-bench-(\d+)-[a-z0-9]+$/];

// xtb-<short>-<this pid>-<parts...>; short is reduced to [a-z0-9], at most 12 characters.
export function namespaceName(short, ...parts) {
  const clean = String(short).toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 12) || 'test';
  return [`${NAME_PREFIX}${clean}`, String(process.pid), ...parts.map(String)].join('-');
}

// The pid of the process that made ns, or undefined for a name not made here.
export function ownerPid(ns) {
  for (const pattern of OWNED) {
    const match = pattern.exec(ns);
    if (match?.[1] !== undefined) return Number(match[1]);
  }
  return undefined;
}

export function assertOurs(ns) {
  if (!String(ns).startsWith(NAME_PREFIX)) throw new Error(`refusing to act on namespace ${JSON.stringify(ns)}: not created by this harness`);
}

export function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error?.code === 'EPERM';
  }
}

// Creates the namespaces in one `ip -batch`; rejects with ip's stderr (the caller deletes what was made).
export async function addNamespaces(names) {
  for (const ns of names) assertOurs(ns);
  const input = names.map((ns) => `netns add ${ns}`).join('\n');
  const result = await execa('ip', ['-batch', '-'], { input, reject: false, timeout: 10_000 });
  if (result.exitCode !== 0) {
    const output = String(result.stderr ?? '').trim() || String(result.stdout ?? '').trim() || '(no output)';
    throw new Error(`ip -batch -\n${input}\nexited ${result.exitCode ?? -1}: ${output}`);
  }
}

// `ip netns exec NS COMMAND ARGS...` through execa, with execa's options and result.
export function execIn(ns, command, args = [], options = {}) {
  assertOurs(ns);
  return execa('ip', ['netns', 'exec', ns, command, ...args], options);
}

const pidsOf = (text) =>
  String(text ?? '')
    .split('\n')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);

function killAll(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

// Kills whatever still runs inside ns, then deletes it; never throws for a namespace already gone.
export async function deleteNamespace(ns) {
  assertOurs(ns);
  const pids = await execa('ip', ['netns', 'pids', ns], { reject: false, timeout: 5000 });
  killAll(pidsOf(pids.stdout));
  await execa('ip', ['netns', 'del', ns], { reject: false, timeout: 5000 });
}

// The same, synchronous: for process 'exit' and signal handlers.
export function deleteNamespaceSync(ns) {
  assertOurs(ns);
  try {
    killAll(pidsOf(execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })));
  } catch {
    // no such namespace, or ip failed: the delete below says nothing either way
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // already gone
  }
}

// Deletes the namespaces made here whose creating process is gone (a crashed or killed run); returns their names.
export async function sweepLeftovers(remove = deleteNamespace) {
  const listed = await execa('ip', ['netns', 'list'], { reject: false, timeout: 5000 });
  const removed = [];
  for (const line of String(listed.stdout ?? '').split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const pid = ownerPid(ns);
    if (pid === undefined || pidAlive(pid)) continue;
    await remove(ns);
    removed.push(ns);
  }
  return removed;
}
