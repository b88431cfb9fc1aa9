import type { PatternRole } from './filter.js';

// What one process's lines have counted so far (one sshd process serves one connection).
interface ProcessState {
  address: string;
  // The pattern of an attempt announced ('announce') that no 'failure' line has confirmed yet; -1 for a
  // caller that names no patterns; undefined when nothing is pending.
  pending: number | undefined;
  // At least one of its lines was counted.
  counted: boolean;
  // A 'close' line was seen: the connection is over, its further closing lines count for nothing.
  closed: boolean;
  lastMs: number;
}

// How long a closed process is remembered: sshd writes a connection's closing lines together
// ("maximum authentication attempts exceeded", "Disconnecting ...: Too many authentication failures",
// PAM's "N more authentication failures"), and a pid is not reused that soon.
const CLOSED_MS = 60_000;

// Linux's pid_max at most (PID_MAX_LIMIT).
const PID_LIMIT = 2 ** 22;

// Links the lines one failed attempt leaves (PAM's "authentication failure", then "Failed password",
// then at the end "Connection closed by authenticating user") by the writing process, so that each
// attempt counts once, whichever lines the daemon wrote for it. Lines without a pid count by their role
// alone: a 'close' then counts as well, as nothing tells whether its connection already did.
export class AttemptLinker {
  private readonly processes = new Map<number | string, ProcessState>();
  // Programs by a small number, so that a process's key is one small integer (program and pid), not a
  // string built for every line.
  private readonly programIds = new Map<string, number>();

  constructor(
    // Processes remembered at most; when full, the half heard from longest ago is forgotten.
    private readonly maxProcesses = 10_000,
    // A process silent this long is taken for a new one with the same pid.
    private readonly idleMs = 10 * 60_000,
  ) {}

  // Forgets the half of the processes heard from longest ago, in one pass: a Map keeps deleted entries
  // as holes until it compacts, and finding the oldest one at a time would walk them all every time.
  private forgetOldest(): void {
    let left = Math.max(1, Math.floor(this.maxProcesses / 2));
    for (const key of this.processes.keys()) {
      this.processes.delete(key);
      if (--left === 0) break;
    }
  }

  // A process's key: program number times 2^22 (above any Linux pid) plus the pid, below 2^30 (a small
  // integer to V8); a string for a pid out of that range or past the 255th program.
  private keyOf(program: string, pid: number): number | string {
    if (Number.isInteger(pid) && pid >= 0 && pid < PID_LIMIT) {
      let id = this.programIds.get(program);
      if (id === undefined && this.programIds.size < 255) {
        id = this.programIds.size;
        this.programIds.set(program, id);
      }
      if (id !== undefined) return id * PID_LIMIT + pid;
    }
    return `${program}\u0000${pid}`;
  }

  // Whether this matching line is one more failed attempt of `address`. `pattern` (the index of the
  // pattern that matched) tells two announcements apart: the same announcement again, with no
  // confirmation between, is a new attempt (sshd's "PAM: Authentication failure" once per
  // keyboard-interactive answer), another one is the same attempt ("Invalid user", then PAM's line).
  counts(line: { program: string | undefined; pid?: number | undefined; timeMs: number }, address: string, role: PatternRole, pattern?: number): boolean {
    if (line.pid === undefined) return true;
    const key = this.keyOf(line.program ?? '', line.pid);
    let state = this.processes.get(key);
    if (
      state &&
      (state.address !== address ||
        line.timeMs - state.lastMs > (state.closed ? CLOSED_MS : this.idleMs) ||
        line.timeMs < state.lastMs - this.idleMs ||
        // An attempt after the close: the pid serves a new connection.
        (state.closed && role !== 'close'))
    ) {
      this.processes.delete(key);
      state = undefined;
    }
    if (!state) {
      state = { address, pending: undefined, counted: false, closed: false, lastMs: line.timeMs };
      if (this.processes.size >= this.maxProcesses) this.forgetOldest();
      this.processes.set(key, state);
    } else {
      // Most recently heard from last: the first key is the one to forget.
      this.processes.delete(key);
      this.processes.set(key, state);
      state.lastMs = line.timeMs;
    }
    let counts: boolean;
    if (role === 'announce') {
      counts = state.pending === undefined || (pattern !== undefined && state.pending === pattern);
      state.pending = pattern ?? -1;
    } else if (role === 'failure') {
      counts = state.pending === undefined;
      state.pending = undefined;
    } else {
      // A close counts only for a connection that left nothing else (keys offered and refused).
      counts = !state.counted;
      state.closed = true;
    }
    if (counts) state.counted = true;
    return counts;
  }
}
