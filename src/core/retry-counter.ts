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
    // In place: a scan adds hundreds of thousands of failures.
    const cutoff = timeMs - this.findtimeMs;
    let write = 0;
    for (let read = 0; read < kept.length; read++) {
      const time = kept[read] as number;
      if (time > cutoff) kept[write++] = time;
    }
    kept.length = write;
    kept.push(timeMs);
    if (kept.length > this.maxretry) kept.splice(0, kept.length - this.maxretry);
    // Delete and set: a Map keeps insertion order, so the first key is the least recently seen.
    this.times.delete(address);
    if (kept.length >= this.maxretry) return true;
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
