import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalctlArgs, localMachineId } from '../../src/daemon/journal-follower.js';

const MACHINE = '3d1219c7c4c5404aaa1f6d2a48adfda4';
const work = mkdtempSync(join(tmpdir(), 'xtban-journal-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('journalctlArgs', () => {
  it('starts at the end the first time: -n 0, never with --no-tail (which undoes -n and replays the journal)', () => {
    const args = journalctlArgs({ unit: 'ssh.service', identifier: undefined, cursor: undefined, machineId: MACHINE });
    expect(args).toEqual(['-f', '-o', 'json', '--no-pager', '--merge', '-u', 'ssh.service', '-n', '0', `_MACHINE_ID=${MACHINE}`]);
    expect(args).not.toContain('--no-tail');
  });

  it('resumes after the saved cursor with --no-tail, so that -f does not cut the backlog to 10 entries', () => {
    const args = journalctlArgs({ unit: undefined, identifier: 'sshd', cursor: 's=abc;i=3', machineId: MACHINE });
    expect(args).toEqual(['-f', '-o', 'json', '--no-pager', '--merge', '-t', 'sshd', '--no-tail', '--after-cursor', 's=abc;i=3', `_MACHINE_ID=${MACHINE}`]);
    expect(args).not.toContain('-n');
  });

  it("merges (no implied boot match) only when it can keep other machines' journals out", () => {
    const args = journalctlArgs({ unit: 'ssh.service', identifier: undefined, cursor: undefined, machineId: undefined });
    expect(args).not.toContain('--merge');
    expect(args.some((arg) => arg.startsWith('_MACHINE_ID='))).toBe(false);
  });
});

describe('localMachineId', () => {
  it('reads a machine id, and refuses anything else', () => {
    const file = join(work, 'machine-id');
    writeFileSync(file, `${MACHINE}\n`);
    expect(localMachineId(file)).toBe(MACHINE);
    for (const bad of ['', 'uninitialized\n', `${MACHINE} _PID=1\n`, `${MACHINE.toUpperCase()}\n`, `${MACHINE.slice(1)}\n`]) {
      writeFileSync(file, bad);
      expect(localMachineId(file)).toBeUndefined();
    }
    expect(localMachineId(join(work, 'missing'))).toBeUndefined();
  });
});
