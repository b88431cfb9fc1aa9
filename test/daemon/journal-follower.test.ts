import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cursorOf, inContainer, journalctlArgs, journalScope, journalTailArgs, localMachineId } from '../../src/daemon/journal-follower.js';

const MACHINE = '3d1219c7c4c5404aaa1f6d2a48adfda4';
const HOST = journalScope({ container: false, machineId: MACHINE });
const CONTAINER = journalScope({ container: true, machineId: MACHINE });
const work = mkdtempSync(join(tmpdir(), 'xtban-journal-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('journalctlArgs', () => {
  it('follows after a cursor with --no-tail, so that -f does not cut the backlog to 10 entries', () => {
    const args = journalctlArgs({ unit: undefined, identifier: 'sshd', cursor: 's=abc;i=3', scope: HOST });
    expect(args).toEqual(['-f', '-o', 'json', '--no-pager', '-t', 'sshd', '--no-tail', '--after-cursor', 's=abc;i=3']);
    expect(args).not.toContain('-n');
  });

  it('with no cursor at all starts at the end: -n 0, never with --no-tail (which undoes -n and replays the journal)', () => {
    const args = journalctlArgs({ unit: 'ssh.service', identifier: undefined, cursor: undefined, scope: HOST });
    expect(args).toEqual(['-f', '-o', 'json', '--no-pager', '-u', 'ssh.service', '-n', '0']);
  });

  it("in a container merges (no implied boot match) and keeps other machines' journals out by machine id", () => {
    expect(journalctlArgs({ unit: 'ssh.service', identifier: undefined, cursor: undefined, scope: CONTAINER })).toEqual([
      '-f',
      '-o',
      'json',
      '--no-pager',
      '--merge',
      '-u',
      'ssh.service',
      '-n',
      '0',
      `_MACHINE_ID=${MACHINE}`,
    ]);
    expect(journalTailArgs(CONTAINER)).toEqual(['-n', '1', '-o', 'json', '--no-pager', '--merge', `_MACHINE_ID=${MACHINE}`]);
  });

  it('on a host never merges: merge would also read journals that other machines wrote', () => {
    for (const scope of [HOST, journalScope({ container: false, machineId: undefined })]) {
      expect(journalctlArgs({ unit: 'ssh.service', identifier: undefined, cursor: 'c', scope })).not.toContain('--merge');
      expect(journalTailArgs(scope)).toEqual(['-n', '1', '-o', 'json', '--no-pager']);
    }
    // A container whose machine id cannot be read: journalctl's own local-only open.
    expect(journalScope({ container: true, machineId: undefined }).mergeMachineId).toBeUndefined();
  });
});

describe('cursorOf', () => {
  it("takes the cursor of any entry, a binary message's too, and nothing from anything else", () => {
    expect(cursorOf('{"__CURSOR":"s=1;i=2","MESSAGE":[104,105]}')).toBe('s=1;i=2');
    for (const bad of ['', 'not json', '{"__CURSOR":""}', '{"__CURSOR":7}', '[]', 'null']) expect(cursorOf(bad)).toBeUndefined();
  });
});

describe('localMachineId and inContainer', () => {
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

  it("knows a container by systemd's /run/systemd/container", () => {
    const file = join(work, 'container');
    writeFileSync(file, 'systemd-nspawn\n');
    expect(inContainer(file)).toBe(true);
    writeFileSync(file, '');
    expect(inContainer(file)).toBe(false);
    expect(inContainer(join(work, 'none'))).toBe(false);
  });
});
