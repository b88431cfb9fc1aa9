import { describe, expect, it } from 'vitest';
import { AttemptLinker } from '../../src/core/attempts.js';
import type { PatternRole } from '../../src/core/filter.js';

// Feeds lines (pid, address, role) one second apart and says which counted.
function run(lines: [number | undefined, string, PatternRole][], linker = new AttemptLinker()): boolean[] {
  return lines.map(([pid, address, role], index) => linker.counts({ program: 'sshd', pid, timeMs: index * 1000 }, address, role));
}

describe('attempts linked by process', () => {
  it('tells processes apart by program and pid, whatever the pid and however many programs', () => {
    const linker = new AttemptLinker();
    const programs = Array.from({ length: 300 }, (_, index) => `prog${index}`);
    for (const pid of [1, 4_194_303, 4_194_304, 2 ** 31, 1e15]) {
      for (const program of programs) {
        // Each (program, pid) its own connection: its announcement counts, its failure then does not.
        expect(linker.counts({ program, pid, timeMs: 0 }, '192.0.2.7', 'announce', 0)).toBe(true);
        expect(linker.counts({ program, pid: pid + 1, timeMs: 0 }, '192.0.2.7', 'announce', 0)).toBe(true);
      }
      for (const program of programs) expect(linker.counts({ program, pid, timeMs: 1 }, '192.0.2.7', 'failure', 1)).toBe(false);
    }
    // The same pid of another program is another process.
    expect(linker.counts({ program: 'other', pid: 1, timeMs: 2 }, '192.0.2.7', 'failure', 1)).toBe(true);
  });

  it('counts a PAM failure and the Failed password that follows it once, and the close after it not at all', () => {
    expect(
      run([
        [10, '192.0.2.7', 'announce'],
        [10, '192.0.2.7', 'failure'],
        [10, '192.0.2.7', 'announce'],
        [10, '192.0.2.7', 'failure'],
        [10, '192.0.2.7', 'close'],
      ]),
    ).toEqual([true, false, true, false, false]);
  });

  it('counts an invalid user, its PAM line and its Failed password as one attempt', () => {
    expect(
      run([
        [11, '192.0.2.7', 'announce'],
        [11, '192.0.2.7', 'announce'],
        [11, '192.0.2.7', 'failure'],
        [11, '192.0.2.7', 'close'],
      ]),
    ).toEqual([true, false, false, false]);
  });

  it('counts every Failed line without an announcement, and a close with nothing before it once', () => {
    expect(
      run([
        [12, '192.0.2.7', 'failure'],
        [12, '192.0.2.7', 'failure'],
        [13, '192.0.2.8', 'close'],
      ]),
    ).toEqual([true, true, true]);
  });

  it('keeps processes apart, and takes a pid that reappears with another address for a new connection', () => {
    expect(
      run([
        [20, '192.0.2.7', 'announce'],
        [21, '192.0.2.8', 'announce'],
        [20, '192.0.2.7', 'failure'],
        [21, '192.0.2.8', 'failure'],
        [20, '198.51.100.1', 'failure'],
      ]),
    ).toEqual([true, true, false, false, true]);
  });

  it('counts lines without a pid by their role alone', () => {
    expect(
      run([
        [undefined, '192.0.2.7', 'announce'],
        [undefined, '192.0.2.7', 'failure'],
        [undefined, '192.0.2.7', 'close'],
      ]),
    ).toEqual([true, true, true]);
  });

  it("counts none of a connection's further closing lines, and takes an attempt after the close for a new connection", () => {
    // sshd 9.2 at MaxAuthTries: "maximum authentication attempts exceeded", "Disconnecting ...: Too many
    // authentication failures", PAM's "5 more authentication failures"; then the pid serves another client.
    expect(
      run([
        [30, '192.0.2.7', 'failure'],
        [30, '192.0.2.7', 'close'],
        [30, '192.0.2.7', 'close'],
        [30, '192.0.2.7', 'close'],
        [30, '192.0.2.7', 'failure'],
      ]),
    ).toEqual([true, false, false, false, true]);
  });

  it('counts a connection of closing lines only (keys offered and refused) once', () => {
    expect(
      run([
        [31, '192.0.2.7', 'close'],
        [31, '192.0.2.7', 'close'],
      ]),
    ).toEqual([true, false]);
  });

  it('forgets a closed process after a minute: its pid may serve the next connection', () => {
    const linker = new AttemptLinker();
    expect(linker.counts({ program: 'sshd', pid: 32, timeMs: 0 }, '192.0.2.7', 'close')).toBe(true);
    expect(linker.counts({ program: 'sshd', pid: 32, timeMs: 30_000 }, '192.0.2.7', 'close')).toBe(false);
    expect(linker.counts({ program: 'sshd', pid: 32, timeMs: 100_000 }, '192.0.2.7', 'close')).toBe(true);
  });

  it('counts the same announcement twice without a confirmation between as two attempts, another announcement as the same one', () => {
    const linker = new AttemptLinker();
    // pattern 1: "PAM: Authentication failure" (one per keyboard-interactive answer); 2: "Invalid user".
    const line = (role: PatternRole, pattern: number) => linker.counts({ program: 'sshd', pid: 40, timeMs: 0 }, '192.0.2.7', role, pattern);
    expect([line('announce', 1), line('announce', 1), line('failure', 0), line('announce', 1), line('failure', 0)]).toEqual([true, true, false, true, false]);
    const invalid = new AttemptLinker();
    const other = (role: PatternRole, pattern: number) => invalid.counts({ program: 'sshd', pid: 41, timeMs: 0 }, '192.0.2.7', role, pattern);
    expect([other('announce', 2), other('announce', 1), other('failure', 0), other('announce', 1), other('failure', 0)]).toEqual([
      true,
      false,
      false,
      true,
      false,
    ]);
  });

  it('remembers a bounded number of processes, forgetting the one heard from longest ago', () => {
    const linker = new AttemptLinker(2);
    const line = (pid: number, role: PatternRole) => linker.counts({ program: 'sshd', pid, timeMs: 0 }, '192.0.2.7', role);
    expect(line(1, 'announce')).toBe(true);
    expect(line(2, 'announce')).toBe(true);
    expect(line(1, 'failure')).toBe(false);
    // A third process: 2 is forgotten (1 was heard from since), so its confirmation counts as an attempt.
    expect(line(3, 'announce')).toBe(true);
    expect(line(2, 'failure')).toBe(true);
  });

  it('takes a pid silent for longer than the idle time for a new process', () => {
    const linker = new AttemptLinker(100, 60_000);
    expect(linker.counts({ program: 'sshd', pid: 5, timeMs: 0 }, '192.0.2.7', 'announce')).toBe(true);
    expect(linker.counts({ program: 'sshd', pid: 5, timeMs: 120_000 }, '192.0.2.7', 'failure')).toBe(true);
  });
});
