// Counts failures per address in a sliding window: an address reaches the limit when it has `maxretry`
// failures within `findtimeMs` (exactly, from the times of the failures, not from a rate estimate).
// Memory is bounded: at most `capacity` addresses are tracked, the least recently seen one is dropped first.
export class RetryCounter {
  private readonly times = new Map<string, number[]>();

  constructor(
    readonly maxretry: number,
    readonly findtimeMs: number,
    readonly capacity = 100_000,
  ) {}

  // Records a failure at `timeMs`; true when this failure brings the address to maxretry within findtime.
  // The address's history is cleared then, so the next ban needs maxretry new failures.
  add(address: string, timeMs: number): boolean {
    const kept = this.times.get(address) ?? [];
    const reached = addFailure(kept, timeMs, this.maxretry, this.findtimeMs);
    // Delete and set: a Map keeps insertion order, so the first key is the least recently seen.
    this.times.delete(address);
    if (reached) return true;
    this.times.set(address, kept);
    if (this.times.size > this.capacity) {
      const oldest = this.times.keys().next().value;
      if (oldest !== undefined) this.times.delete(oldest);
    }
    return false;
  }

  // Failures currently counted for an address (inside the window as of its last failure).
  count(address: string): number {
    return this.times.get(address)?.length ?? 0;
  }

  get tracked(): number {
    return this.times.size;
  }
}

// One address's failure added to its kept times (in place: a scan adds hundreds of thousands): those
// still inside findtime of this one are kept, at most maxretry; true when they reach maxretry.
export function addFailure(kept: number[], timeMs: number, maxretry: number, findtimeMs: number): boolean {
  const cutoff = timeMs - findtimeMs;
  let write = 0;
  for (let read = 0; read < kept.length; read++) {
    const time = kept[read] as number;
    if (time > cutoff) kept[write++] = time;
  }
  kept.length = write;
  kept.push(timeMs);
  if (kept.length > maxretry) kept.splice(0, kept.length - maxretry);
  return kept.length >= maxretry;
}

// Failures as a range of a scan gives them: each failure an index into `addresses` and a time.
export interface FailureRun {
  addresses: readonly string[];
  which: Uint32Array;
  times: Float64Array;
}

// What a RetryCounter fed every failure of the runs in order would say, without a map operation per
// failure (a scan's main thread does this alone, after its workers): an address's count depends on its
// own failures only, so each address's failures go through the window together. Matches per address,
// and when each would first have been banned, in the order the bans happen.
export function countFailures(
  ranges: readonly FailureRun[],
  maxretry: number,
  findtimeMs: number,
): { matches: Map<string, number>; banned: Map<string, number> } {
  const ids = new Map<string, number>();
  const names: string[] = [];
  const local = ranges.map((range) =>
    Uint32Array.from(range.addresses, (address) => {
      let id = ids.get(address);
      if (id === undefined) {
        id = names.push(address) - 1;
        ids.set(address, id);
      }
      return id;
    }),
  );
  // Each address's failures together, in line order (a counting sort): their times and their places
  // in the whole scan.
  const counts = new Uint32Array(names.length + 1);
  for (const [r, range] of ranges.entries()) {
    const ofRange = local[r] as Uint32Array;
    for (const which of range.which) {
      const id = ofRange[which] as number;
      counts[id] = (counts[id] as number) + 1;
    }
  }
  const firsts = new Uint32Array(names.length + 1);
  for (let id = 0; id < names.length; id++) firsts[id + 1] = (firsts[id] as number) + (counts[id] as number);
  const next = firsts.slice();
  const total = firsts[names.length] as number;
  const times = new Float64Array(total);
  const places = new Float64Array(total);
  let place = 0;
  for (const [r, range] of ranges.entries()) {
    const ofRange = local[r] as Uint32Array;
    for (let i = 0; i < range.which.length; i++) {
      const id = ofRange[range.which[i] as number] as number;
      const at = next[id] as number;
      next[id] = at + 1;
      times[at] = range.times[i] as number;
      places[at] = place++;
    }
  }
  const matches = new Map<string, number>();
  const bans: { address: string; time: number; place: number }[] = [];
  const kept: number[] = [];
  for (let id = 0; id < names.length; id++) {
    const address = names[id] as string;
    matches.set(address, counts[id] as number);
    kept.length = 0;
    for (let at = firsts[id] as number; at < (firsts[id + 1] as number); at++) {
      if (addFailure(kept, times[at] as number, maxretry, findtimeMs)) {
        bans.push({ address, time: times[at] as number, place: places[at] as number });
        break;
      }
    }
  }
  bans.sort((a, b) => a.place - b.place);
  return { matches, banned: new Map(bans.map((ban) => [ban.address, ban.time])) };
}
