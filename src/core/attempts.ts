import type { PatternRole } from './filter.js';

// What one process's lines have counted so far (one sshd process serves one connection).
interface ProcessState {
  address: string;
  // An attempt was announced ('announce') and no 'failure' line has confirmed it yet.
  pending: boolean;
  // At least one of its lines was counted.
  counted: boolean;
  lastMs: number;
}

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

  // Whether this matching line is one more failed attempt of `address`.
  counts(line: { program: string | undefined; pid?: number | undefined; timeMs: number }, address: string, role: PatternRole): boolean {
    if (line.pid === undefined) return true;
    const key = `${line.program ?? ''}\u0000${line.pid}`;
    let state = this.processes.get(key);
    if (state && (state.address !== address || line.timeMs - state.lastMs > this.idleMs || line.timeMs < state.lastMs - this.idleMs)) {
      this.processes.delete(key);
      state = undefined;
    }
    if (!state) {
      // A process's first line opens its state; a close with no earlier line is one attempt and the end.
      if (role === 'close') return true;
      state = { address, pending: false, counted: false, lastMs: line.timeMs };
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
      counts = !state.pending;
      state.pending = true;
    } else if (role === 'failure') {
      counts = !state.pending;
      state.pending = false;
    } else {
      counts = !state.counted;
      this.processes.delete(key);
    }
    if (counts) state.counted = true;
    return counts;
  }
}
