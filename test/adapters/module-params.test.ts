// readModuleParameters against the captured sysfs files, missing files and bad content.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KERNEL_DEFAULTS, readModuleParameters, stampRingSize } from '../../src/adapters/module-params.js';
import { ExitCode, XtbanError } from '../../src/core/errors.js';

const SYS = fileURLToPath(new URL('../../fixtures/proc/sys', import.meta.url));

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xtban-params-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function parameters(files: Record<string, string>): Promise<string> {
  const params = join(dir, 'module', 'xt_recent', 'parameters');
  await mkdir(params, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(params, name), text);
  return params;
}

describe('readModuleParameters', () => {
  it('tells a loaded module (sysfs has its initstate) from one built in (parameters only) and one not loaded', async () => {
    expect((await readModuleParameters(dir)).loading).toBe('absent');
    await parameters({ ip_list_tot: '100\n' });
    expect((await readModuleParameters(dir)).loading).toBe('builtin');
    await writeFile(join(dir, 'module', 'xt_recent', 'initstate'), 'live\n');
    expect((await readModuleParameters(dir)).loading).toBe('module');
  });

  it('reads the six values captured from Linux 6.18', async () => {
    expect(await readModuleParameters(SYS)).toEqual({
      ipListTot: 100,
      ipPktListTot: 0,
      ipListHashSize: 128,
      ipListPerms: 420,
      ipListUid: 0,
      ipListGid: 0,
      source: join(SYS, 'module', 'xt_recent', 'parameters'),
      loading: 'builtin',
    });
  });

  it('reads non-default values', async () => {
    await parameters({
      ip_list_tot: '1000\n',
      ip_pkt_list_tot: '40\n',
      ip_list_hash_size: '1024\n',
      ip_list_perms: '416\n',
      ip_list_uid: '998\n',
      ip_list_gid: '997\n',
    });
    const result = await readModuleParameters(dir);
    expect(result).toEqual({
      ipListTot: 1000,
      ipPktListTot: 40,
      ipListHashSize: 1024,
      ipListPerms: 0o640,
      ipListUid: 998,
      ipListGid: 997,
      source: join(dir, 'module', 'xt_recent', 'parameters'),
      loading: 'builtin',
    });
  });

  it('falls back to the kernel defaults and says why when nothing is readable', async () => {
    expect(await readModuleParameters(join(dir, 'no-sys'))).toEqual({
      ipListTot: 100,
      ipPktListTot: 0,
      ipListHashSize: 128,
      ipListPerms: 0o644,
      ipListUid: 0,
      ipListGid: 0,
      source: 'defaults (ip_list_tot, ip_pkt_list_tot, ip_list_hash_size, ip_list_perms, ip_list_uid, ip_list_gid unreadable: ENOENT)',
      loading: 'absent',
    });
  });

  it('mixes read values and defaults, naming both (as a non-root user sees only uid and gid)', async () => {
    const params = await parameters({ ip_list_uid: '1000\n', ip_list_gid: '1001\n' });
    const result = await readModuleParameters(dir);
    expect(result).toEqual({
      ...KERNEL_DEFAULTS,
      ipListUid: 1000,
      ipListGid: 1001,
      source: `${params} (ip_list_uid, ip_list_gid); defaults (ip_list_tot, ip_pkt_list_tot, ip_list_hash_size, ip_list_perms unreadable: ENOENT)`,
      loading: 'builtin',
    });
  });

  it('derives the hash size from a list size it could read', async () => {
    await parameters({ ip_list_tot: '300\n' });
    const result = await readModuleParameters(dir);
    expect(result.ipListTot).toBe(300);
    expect(result.ipListHashSize).toBe(512);
  });

  it('refuses content that is not an unsigned integer', async () => {
    const params = await parameters({ ip_list_tot: 'lots\n' });
    try {
      await readModuleParameters(dir);
      expect.unreachable('no error thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(XtbanError);
      expect((error as XtbanError).exitCode).toBe(ExitCode.system);
      expect((error as XtbanError).message).toBe(`${join(params, 'ip_list_tot')}: expected an unsigned integer, got "lots"`);
    }
  });

  it('reads the real module when it is there (root), or falls back', async () => {
    const result = await readModuleParameters();
    if (result.source === '/sys/module/xt_recent/parameters') {
      expect(result.ipListTot).toBeGreaterThan(0);
      expect(result.ipListHashSize).toBe(2 ** Math.ceil(Math.log2(result.ipListTot + 1)));
    } else {
      expect(result.source).toMatch(/^(\/sys\/module\/xt_recent\/parameters \(.*\); )?defaults \(.* unreadable: /);
    }
  });
});

describe('KERNEL_DEFAULTS', () => {
  it('are the values a 6.18 kernel shows with no module options', () => {
    expect(KERNEL_DEFAULTS).toEqual({ ipListTot: 100, ipPktListTot: 0, ipListHashSize: 128, ipListPerms: 0o644, ipListUid: 0, ipListGid: 0 });
  });
});

describe('stampRingSize (recent_mt_check)', () => {
  it('is 32 stamps by default, as measured (40 writes kept 32 stamps)', () => {
    expect(stampRingSize(0)).toBe(32);
    expect(stampRingSize(0, 0)).toBe(32);
  });

  it('rounds a --hitcount up to a power of two when ip_pkt_list_tot is 0', () => {
    expect(stampRingSize(0, 1)).toBe(1);
    expect(stampRingSize(0, 10)).toBe(16);
    expect(stampRingSize(0, 40)).toBe(64);
    expect(stampRingSize(0, 65535)).toBe(65536);
  });

  it('uses ip_pkt_list_tot when it is set and the hitcount is below it', () => {
    expect(stampRingSize(20)).toBe(32);
    expect(stampRingSize(20, 10)).toBe(32);
    expect(stampRingSize(100, 50)).toBe(128);
    expect(stampRingSize(20, 20)).toBe(32);
    expect(stampRingSize(20, 40)).toBe(64);
  });
});
