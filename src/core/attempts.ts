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

// Links the lines one failed attempt leaves (PAM's "authentication failure", then "Failed password",
// then at the end "Connection closed by authenticating user") by the writing process, so that each
// attempt counts once, whichever lines the daemon wrote for it. Lines without a pid count by their role
// alone: a 'close' then counts as well, as nothing tells whether its connection already did.
export class AttemptLinker {
  private readonly processes = new Map<string, ProcessState>();

  constructor(
    // Processes remembered at most; the oldest is forgotten first.
    private readonly maxProcesses = 10_000,
    // A process silent this long is taken for a new one with the same pid.
    private readonly idleMs = 10 * 60_000,
  ) {}

  // Whether this matching line is one more failed attempt of `address`. `pattern` (the index of the
  // pattern that matched) tells two announcements apart: the same announcement again, with no
  // confirmation between, is a new attempt (sshd's "PAM: Authentication failure" once per
  // keyboard-interactive answer), another one is the same attempt ("Invalid user", then PAM's line).
  counts(line: { program: string | undefined; pid?: number | undefined; timeMs: number }, address: string, role: PatternRole, pattern?: number): boolean {
    if (line.pid === undefined) return true;
    const key = `${line.program ?? ''}\u0000${line.pid}`;
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
      if (this.processes.size >= this.maxProcesses) {
        const oldest = this.processes.keys().next().value;
        if (oldest !== undefined) this.processes.delete(oldest);
      }
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
