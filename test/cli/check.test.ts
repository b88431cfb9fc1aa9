// `xtban check` is fail2ban's actioncheck: it answers 0 or 1 about the ruleset and the lists, and reads
// no safelist (it judges no address), so a safelist file that is missing does not make it exit 2.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/program.js';
import { scratchDir } from '../helpers/scratch.js';

const PROC = new URL('../../fixtures/proc/', import.meta.url).pathname;

let stdout = '';
let stderr = '';

beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const xtban = (...args: string[]) => main(['node', 'xtban', ...args]);

// iptables-save and ip6tables-save that print a filter table without any of xtban's chains.
function emptyFirewallOnPath(dir: string): void {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const name of ['iptables-save', 'ip6tables-save']) {
    const path = join(bin, name);
    writeFileSync(path, "#!/bin/sh\nprintf '*filter\\n:INPUT ACCEPT [0:0]\\n:FORWARD ACCEPT [0:0]\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n'\n");
    chmodSync(path, 0o755);
  }
  vi.stubEnv('PATH', `${bin}:${process.env['PATH'] ?? ''}`);
}

describe('xtban check with a safelist file that is missing', () => {
  it('reports on the ruleset (exit 1, chains missing) and never reads the safelist; the commands that judge addresses still refuse with exit 2', async () => {
    const dir = scratchDir('xtban-check-safelist-');
    emptyFirewallOnPath(dir);
    const config = join(dir, 'xtban.toml');
    writeFileSync(config, `[safelist]\nfiles = ["${dir}/safe.txt"]\n\n[jails.ssh]\nports = [22]\nwindow = "1h"\nfamily = "ipv4"\n`);

    expect(await xtban('--config', config, 'check'), stderr).toBe(1);
    expect(stdout).toContain('missing: ssh (IPv4): ');
    expect(stderr).not.toContain('safelist');
    stdout = '';
    expect(await xtban('--config', config, 'check', '--jail', 'ssh', '--json'), stderr).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, jails: ['ssh'] });
    expect(stderr).not.toContain('safelist');

    // Unchanged for the others: a missing safelist is never taken as empty.
    for (const command of [['ban', '192.0.2.7'], ['restore'], ['status', '--proc', join(PROC, 'net/xt_recent'), '--clock', PROC, '--sys', PROC]]) {
      stderr = '';
      expect(await xtban('--config', config, ...command), command.join(' ')).toBe(2);
      expect(stderr, command.join(' ')).toContain(`safelist file ${dir}/safe.txt cannot be read (ENOENT)`);
    }
  });
});
