// Kernel-test harness: throwaway network namespaces, a TCP service, a prober and the built CLI.
// Everything that changes iptables runs inside namespaces created here; the host's own ruleset is never touched.
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { describe, it } from 'vitest';
import { addNamespaces, assertOurs, deleteNamespace, deleteNamespaceSync, execIn, namespaceName, sweepLeftovers as sweepDead } from './netns-core.mjs';

export type Role = 'fw' | 'attacker';
export type Family = 4 | 6;
export type Backend = 'nft' | 'legacy';
export type ProbeResult = 'open' | 'dropped' | 'refused';

export interface ExecResult {
  stdout: string;
  stderr: string;
  // -1 when the command could not start or was killed by a signal.
  exitCode: number;
}

export interface ExecOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

export interface TcpServer {
  readonly ns: string;
  readonly port: number;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface ProbeDetail {
  result: ProbeResult;
  ms: number;
  code?: string;
}

export interface Topology {
  // Names of the two namespaces, e.g. xtb-netns-4242-1-fw and xtb-netns-4242-1-attacker.
  readonly names: Readonly<Record<Role, string>>;
  // The veth end inside each namespace.
  readonly interfaces: Readonly<Record<Role, string>>;
  readonly addresses: Readonly<Record<Role, { readonly ipv4: string; readonly ipv6: string }>>;
  exec(ns: Role | string, cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  // Like exec, but throws with the command's stderr on a non-zero exit.
  execOk(ns: Role | string, cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  iptablesSave(ns: Role | string, family: Family, backend?: Backend): Promise<string>;
  // A TCP service inside fw (dual-stack); port 0 picks a free port.
  startTcpServer(port: number): Promise<TcpServer>;
  // One connection attempt from attacker, optionally from one of its extra addresses.
  probe(host: string, port: number, timeoutMs?: number, from?: string): Promise<ProbeResult>;
  // Gives attacker more addresses on its veth (IPv4 inside 192.0.2.0/24, IPv6 inside 2001:db8::/64), so many
  // distinct attackers can be tested.
  addAttackerAddresses(addresses: readonly string[]): Promise<void>;
  destroy(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HELPERS = path.dirname(fileURLToPath(import.meta.url));

const ADDRESSES = {
  fw: { ipv4: '192.0.2.1', ipv6: '2001:db8::1' },
  attacker: { ipv4: '192.0.2.2', ipv6: '2001:db8::2' },
} as const;
const INTERFACES = { fw: 'xtb-fw', attacker: 'xtb-attacker' } as const;

// Binary names of one iptables backend; pick with .family(4 | 6).
export interface IptablesCommands {
  readonly backend: Backend;
  readonly iptables: string;
  readonly iptablesSave: string;
  readonly iptablesRestore: string;
  readonly ip6tables: string;
  readonly ip6tablesSave: string;
  readonly ip6tablesRestore: string;
  family(family: Family): { iptables: string; save: string; restore: string };
}

// Tests run against both backends because Debian defaults to nft but legacy hosts still exist.
export function iptablesCommands(backend: Backend): IptablesCommands {
  const bin = (base: string, suffix = ''): string => `${base}-${backend}${suffix}`;
  const commands = {
    backend,
    iptables: bin('iptables'),
    iptablesSave: bin('iptables', '-save'),
    iptablesRestore: bin('iptables', '-restore'),
    ip6tables: bin('ip6tables'),
    ip6tablesSave: bin('ip6tables', '-save'),
    ip6tablesRestore: bin('ip6tables', '-restore'),
  };
  return {
    ...commands,
    family: (family) =>
      family === 4
        ? { iptables: commands.iptables, save: commands.iptablesSave, restore: commands.iptablesRestore }
        : { iptables: commands.ip6tables, save: commands.ip6tablesSave, restore: commands.ip6tablesRestore },
  };
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

// Kernel tests need root, Linux, iproute2 and both iptables backends; say which is missing instead of failing oddly.
export function requireRoot(): { skip: boolean; reason?: string } {
  if (process.platform !== 'linux') return { skip: true, reason: `they need Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { skip: true, reason: 'they need root (network namespaces and iptables)' };
  const needed = ['ip', 'iptables', 'ip6tables'];
  for (const backend of ['nft', 'legacy'] as const) {
    const c = iptablesCommands(backend);
    needed.push(c.iptables, c.iptablesSave, c.iptablesRestore, c.ip6tables, c.ip6tablesSave, c.ip6tablesRestore);
  }
  const missing = needed.filter((command) => !onPath(command));
  if (missing.length > 0) return { skip: true, reason: `not found in PATH: ${missing.join(', ')}` };
  return { skip: false };
}

// describe() for kernel tests: skipped with a visible reason when the machine cannot run them, but a failure under CI=true.
export function describeKernel(title: string, body: () => void): void {
  const gate = requireRoot();
  if (!gate.skip) {
    describe(title, body);
    return;
  }
  const message = `kernel tests skipped (${title}): ${gate.reason ?? 'unavailable'}. To run them: sudo bash scripts/setup.sh && sudo npm run test:kernel`;
  if (process.env.CI === 'true') {
    describe(title, () => {
      it('has a kernel to test against (CI=true forbids skipping)', () => {
        throw new Error(`${message}\nCI=true: a skipped kernel layer is a failure.`);
      });
    });
    return;
  }
  console.warn(`\n*** ${message}\n`);
  describe.skip(title, body);
}

function toExecResult(result: { stdout?: unknown; stderr?: unknown; exitCode?: number | undefined }): ExecResult {
  return {
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr: typeof result.stderr === 'string' ? result.stderr : '',
    exitCode: result.exitCode ?? -1,
  };
}

// Runs one command inside a namespace of this harness; never rejects, the caller reads exitCode.
export async function nsExec(ns: string, cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
  const result = await execIn(ns, cmd, args, {
    reject: false,
    timeout: opts.timeoutMs ?? 30_000,
    ...(opts.env === undefined ? {} : { env: opts.env }),
    ...(opts.input === undefined ? {} : { input: opts.input }),
  });
  return toExecResult(result);
}

function describeFailure(what: string, result: ExecResult): Error {
  return new Error(`${what} exited ${result.exitCode}: ${result.stderr.trim() || result.stdout.trim() || '(no output)'}`);
}

async function ip(args: readonly string[], input?: string): Promise<void> {
  const result = toExecResult(await execa('ip', [...args], { reject: false, timeout: 10_000, ...(input === undefined ? {} : { input }) }));
  if (result.exitCode !== 0) throw describeFailure(`ip ${args.join(' ')}${input === undefined ? '' : `\n${input}`}`, result);
}

// ---- processes started inside namespaces (servers, probers), so destroy() can end them ----

type Child = ResultPromise<{ reject: false; buffer: false; stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe' }>;
const children = new Map<string, Set<Child>>();

interface Spawned {
  child: Child;
  // Every stdout line, read by one interface for the child's whole life.
  lines: readline.Interface;
  stderr: () => string;
}

function spawnInNs(ns: string, script: string, args: readonly string[]): Spawned {
  const child: Child = execIn(ns, process.execPath, [path.join(HELPERS, script), ...args], {
    reject: false,
    buffer: false,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  // A write to a prober that just died must not crash the test process: its exit is reported through the child.
  child.stdin.on('error', () => {});
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString();
  });
  let set = children.get(ns);
  if (set === undefined) {
    set = new Set();
    children.set(ns, set);
  }
  set.add(child);
  void child.then(() => set.delete(child));
  return { child, lines: readline.createInterface({ input: child.stdout }), stderr: () => stderr };
}

async function endChild(child: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin.destroy();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
  await child;
  clearTimeout(timer);
}

function firstLine({ child, lines, stderr }: Spawned, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`${what}: not ready within ${timeoutMs} ms`), timeoutMs);
    const fail = (message: string): void => {
      clearTimeout(timer);
      reject(new Error(`${message}${stderr() ? `\n${stderr().trim()}` : ''}`));
    };
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    void child.then((result) => fail(`${what}: exited (${result.exitCode ?? result.signal}) before it was ready`));
  });
}

// A dual-stack TCP service inside ns that answers one line per connection; resolves once it listens.
export async function startTcpServer(ns: string, port: number, timeoutMs = 5000): Promise<TcpServer> {
  const spawned = spawnInNs(ns, 'tcp-server.mjs', [String(port), '::']);
  const { child } = spawned;
  let line: string;
  try {
    line = await firstLine(spawned, timeoutMs, `tcp-server in ${ns}`);
  } catch (error) {
    await endChild(child);
    throw error;
  }
  const match = /^listening (\d+)$/.exec(line);
  if (match?.[1] === undefined) {
    await endChild(child);
    throw new Error(`tcp-server in ${ns}: unexpected first line ${JSON.stringify(line)}`);
  }
  return { ns, port: Number(match[1]), pid: child.pid, stop: () => endChild(child) };
}

// ---- the prober: one long-lived process per attacker namespace ----

interface Prober {
  child: Child;
  next: number;
  pending: Map<number, { resolve: (detail: ProbeDetail) => void; reject: (error: Error) => void }>;
}
const probers = new Map<string, Promise<Prober>>();

async function startProber(ns: string): Promise<Prober> {
  const spawned = spawnInNs(ns, 'prober.mjs', []);
  const { child, lines, stderr } = spawned;
  const prober: Prober = { child, next: 1, pending: new Map() };
  const ready = await firstLine(spawned, 5000, `prober in ${ns}`).catch(async (error: unknown) => {
    await endChild(child);
    throw error;
  });
  if (ready !== 'ready') {
    await endChild(child);
    throw new Error(`prober in ${ns}: unexpected first line ${JSON.stringify(ready)}`);
  }
  lines.on('line', (line) => {
    let answer: { id: number; result: ProbeResult | 'error'; code?: string; ms: number };
    try {
      answer = JSON.parse(line) as typeof answer;
    } catch {
      return; // not an answer (a stray line from node itself): ignore it, the guard timer reports a wedged prober
    }
    const waiter = prober.pending.get(answer.id);
    if (waiter === undefined) return;
    prober.pending.delete(answer.id);
    if (answer.result === 'error') waiter.reject(new Error(`probe failed in ${ns}: ${answer.code ?? 'unknown error'}`));
    else waiter.resolve({ result: answer.result, ms: answer.ms, ...(answer.code === undefined ? {} : { code: answer.code }) });
  });
  void child.then(() => {
    probers.delete(ns);
    for (const waiter of prober.pending.values()) waiter.reject(new Error(`prober in ${ns} exited${stderr() ? `: ${stderr().trim()}` : ''}`));
    prober.pending.clear();
  });
  return prober;
}

// One fresh TCP connection attempt from ns, with its duration; 'dropped' means no answer within timeoutMs.
export async function probeDetail(ns: string, host: string, port: number, timeoutMs = 400, localAddress?: string): Promise<ProbeDetail> {
  let starting = probers.get(ns);
  if (starting === undefined) {
    starting = startProber(ns);
    probers.set(ns, starting);
    starting.catch(() => probers.delete(ns));
  }
  const prober = await starting;
  const id = prober.next++;
  return new Promise<ProbeDetail>((resolve, reject) => {
    // The prober answers by itself after timeoutMs; this guard only catches a wedged prober.
    const guard = setTimeout(() => {
      prober.pending.delete(id);
      reject(new Error(`prober in ${ns} did not answer within ${timeoutMs + 5000} ms`));
    }, timeoutMs + 5000);
    prober.pending.set(id, {
      resolve: (detail) => {
        clearTimeout(guard);
        resolve(detail);
      },
      reject: (error) => {
        clearTimeout(guard);
        reject(error);
      },
    });
    prober.child.stdin.write(`${JSON.stringify({ id, host, port, timeoutMs, ...(localAddress ? { localAddress } : {}) })}\n`);
  });
}

// One fresh TCP connection attempt from ns: open, dropped (no answer in time) or refused (RST or ICMP unreachable).
// IPv6 caveat (measured on 6.18 over veth): an ICMPv6 error answering the first SYN arrives while connect() still owns
// the socket and TCP ignores it, so ip6tables REJECT with icmp6-port-unreachable reads as 'dropped' unless timeoutMs
// covers the SYN retransmit (> ~1100 ms); tcp-reset is seen at once.
export async function probe(ns: string, host: string, port: number, timeoutMs = 400, localAddress?: string): Promise<ProbeResult> {
  return (await probeDetail(ns, host, port, timeoutMs, localAddress)).result;
}

// ---- topologies, their registry and cleanup ----

const live = new Set<{ destroySync(): void }>();
let counter = 0;
let hooksInstalled = false;
let swept = false;

// Ends the servers and probers this harness started in ns, then kills what is left and deletes it.
async function deleteNs(ns: string): Promise<void> {
  assertOurs(ns);
  await Promise.all([...(children.get(ns) ?? [])].map(endChild));
  children.delete(ns);
  probers.delete(ns);
  await deleteNamespace(ns);
}

function cleanupSync(): void {
  for (const topology of [...live]) topology.destroySync();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanupSync();
  // Always step aside and re-raise: execa's signal-exit also waits for "no other listener" before it ends the
  // process, so deferring to it when it is registered would leave both waiting and the process running.
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupSync);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

// Deletes xtb-* namespaces whose creating process is gone (a crashed or killed run, a test's or a benchmark's);
// returns their names.
export function sweepLeftovers(): Promise<string[]> {
  return sweepDead(deleteNs);
}

// Registers the namespaces a topology is about to make: what runs in them is killed and they are deleted
// by destroy(), at exit, or on a signal, whichever comes first.
function ownNamespaces(nsList: readonly string[]): { destroy(): Promise<void>; destroyed(): boolean } {
  let destroyed: Promise<void> | undefined;
  const entry = {
    destroySync(): void {
      live.delete(entry);
      for (const ns of nsList) {
        for (const child of children.get(ns) ?? []) child.kill('SIGKILL');
        deleteNamespaceSync(ns);
      }
    },
  };
  live.add(entry);
  const destroy = (): Promise<void> => {
    destroyed ??= (async () => {
      await Promise.all(nsList.map(deleteNs));
      live.delete(entry);
    })();
    return destroyed;
  };
  return { destroy, destroyed: () => destroyed !== undefined };
}

// Two namespaces, fw and attacker, joined by a veth pair, with IPv4 and IPv6 addresses usable at once.
// With { server: true }, a third namespace "server" joins fw over a second veth pair: fw 198.51.100.1,
// server 198.51.100.2 (a host that bans on fw, the central firewall, over ssh).
export const SERVER_LINK = { fw: '198.51.100.1', server: '198.51.100.2' } as const;

export async function createTopology(name: string, options: { server?: boolean } = {}): Promise<Topology> {
  installHooks();
  if (!swept) {
    swept = true;
    await sweepLeftovers();
  }
  // xtb-<short>-<pid>-<n>: the pid lets sweepLeftovers tell a crashed run's namespaces from a live one's.
  const base = namespaceName(name, ++counter);
  const names = { fw: `${base}-fw`, attacker: `${base}-attacker`, server: `${base}-server` } as const;
  const nsList: string[] = options.server ? [names.fw, names.attacker, names.server] : [names.fw, names.attacker];

  const { destroy, destroyed } = ownNamespaces(nsList);

  try {
    await addNamespaces(nsList);
    // The veth pair is created inside fw with its peer moved straight into attacker: the host namespace never sees it.
    const setup = (role: Role): string[] => [
      `link set lo up`,
      `addr add ${ADDRESSES[role].ipv4}/24 dev ${INTERFACES[role]}`,
      `addr add ${ADDRESSES[role].ipv6}/64 dev ${INTERFACES[role]} nodad`,
      `link set ${INTERFACES[role]} up`,
    ];
    await ip(
      ['-n', names.fw, '-batch', '-'],
      [`link add ${INTERFACES.fw} type veth peer name ${INTERFACES.attacker} netns ${names.attacker}`, ...setup('fw')].join('\n'),
    );
    await ip(['-n', names.attacker, '-batch', '-'], setup('attacker').join('\n'));
    if (options.server) {
      await ip(
        ['-n', names.fw, '-batch', '-'],
        [`link add xtb-fw2 type veth peer name xtb-server netns ${names.server}`, `addr add ${SERVER_LINK.fw}/24 dev xtb-fw2`, 'link set xtb-fw2 up'].join(
          '\n',
        ),
      );
      await ip(
        ['-n', names.server, '-batch', '-'],
        ['link set lo up', `addr add ${SERVER_LINK.server}/24 dev xtb-server`, 'link set xtb-server up'].join('\n'),
      );
    }
  } catch (error) {
    await destroy();
    throw error;
  }

  const resolve = (ns: Role | string): string => {
    const resolved = ns === 'fw' || ns === 'attacker' || ns === 'server' ? names[ns] : ns;
    if (!nsList.includes(resolved)) throw new Error(`namespace ${ns} is not part of topology ${base}`);
    if (destroyed()) throw new Error(`topology ${base} is destroyed`);
    return resolved;
  };
  const exec = async (ns: Role | string, cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> =>
    nsExec(resolve(ns), cmd, args, opts);
  const execOk = async (ns: Role | string, cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> => {
    const result = await exec(ns, cmd, args, opts);
    if (result.exitCode !== 0) throw describeFailure(`${cmd} ${args.join(' ')} (in ${resolve(ns)})`, result);
    return result;
  };

  return {
    names,
    interfaces: INTERFACES,
    addresses: ADDRESSES,
    exec,
    execOk,
    async iptablesSave(ns, family, backend) {
      const save = backend === undefined ? (family === 4 ? 'iptables-save' : 'ip6tables-save') : iptablesCommands(backend).family(family).save;
      return (await execOk(ns, save)).stdout;
    },
    startTcpServer: (port) => startTcpServer(resolve('fw'), port),
    probe: (host, port, timeoutMs, from) => probe(resolve('attacker'), host, port, timeoutMs, from),
    async addAttackerAddresses(addresses) {
      const batch = addresses
        .map((address) =>
          address.includes(':') ? `address add ${address}/64 dev ${INTERFACES.attacker} nodad` : `address add ${address}/24 dev ${INTERFACES.attacker}`,
        )
        .join('\n');
      const result = await nsExec(resolve('attacker'), 'ip', ['-batch', '-'], { input: `${batch}\n` });
      if (result.exitCode !== 0) throw new Error(`adding attacker addresses failed: ${result.stderr}`);
    },
    destroy,
  };
}

// A fleet: a hub namespace with a bridge (198.51.100.1/24; the NATS servers listen there, and the
// attacker's addresses in 203.0.113.0/24 are added to it) and one namespace per host, each joined to the
// bridge by a veth pair, at 198.51.100.(10 + i), routing everything through the hub.
export interface FleetTopology {
  hub: string;
  hosts: string[];
  hubAddress: string;
  hostAddress(index: number): string;
  addAttackerAddresses(addresses: readonly string[]): Promise<void>;
  destroy(): Promise<void>;
}

export const FLEET_HUB = '198.51.100.1';

export async function createFleetTopology(name: string, hostCount: number): Promise<FleetTopology> {
  installHooks();
  if (!swept) {
    swept = true;
    await sweepLeftovers();
  }
  const base = namespaceName(name, ++counter);
  const hub = `${base}-hub`;
  const hosts = Array.from({ length: hostCount }, (_, index) => `${base}-h${index + 1}`);
  const nsList = [hub, ...hosts];
  const { destroy } = ownNamespaces(nsList);
  const hostAddress = (index: number) => `198.51.100.${10 + index}`;
  try {
    await addNamespaces(nsList);
    await ip(
      ['-n', hub, '-batch', '-'],
      ['link set lo up', 'link add br0 type bridge', `addr add ${FLEET_HUB}/24 dev br0`, 'addr add 203.0.113.1/24 dev br0', 'link set br0 up'].join('\n'),
    );
    for (const [index, ns] of hosts.entries()) {
      const number = index + 1;
      await ip(
        ['-n', hub, '-batch', '-'],
        [`link add xtb-p${number} type veth peer name xtb-fleet netns ${ns}`, `link set xtb-p${number} master br0`, `link set xtb-p${number} up`].join('\n'),
      );
      await ip(
        ['-n', ns, '-batch', '-'],
        ['link set lo up', `addr add ${hostAddress(number)}/24 dev xtb-fleet`, 'link set xtb-fleet up', `route add default via ${FLEET_HUB}`].join('\n'),
      );
    }
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    hub,
    hosts,
    hubAddress: FLEET_HUB,
    hostAddress,
    async addAttackerAddresses(addresses) {
      const result = await nsExec(hub, 'ip', ['-batch', '-'], { input: `${addresses.map((address) => `address add ${address}/32 dev br0`).join('\n')}\n` });
      if (result.exitCode !== 0) throw new Error(`adding attacker addresses failed: ${result.stderr}`);
    },
    destroy,
  };
}

// Runs the built CLI inside a namespace (fw for a topology); run `npm run build` first.
export async function runXtban(
  target: Topology | string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const ns = typeof target === 'string' ? target : target.names.fw;
  const main = path.join(REPO_ROOT, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build (or bash scripts/setup.sh) first`);
  return nsExec(ns, process.execPath, [main, ...args], opts);
}
