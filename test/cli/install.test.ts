// `xtban install` as an administrator runs it, here into scratch directories: the units name the CLI
// that ran, the action too, an existing config is kept, --dry-run and a bad --bin write nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dist = new URL('../../dist/main.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'xtban-install-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const install = (dir: string, ...args: string[]) =>
  spawnSync(
    process.execPath,
    [dist, 'install', '--units-dir', join(dir, 'units'), '--fail2ban-dir', join(dir, 'action.d'), '--config-dir', join(dir, 'etc'), ...args],
    { encoding: 'utf8' },
  );

describe('xtban install', () => {
  it('puts the units, the action and a config in place, naming the given CLI', () => {
    const dir = join(work, 'fresh');
    const result = install(dir, '--bin', '/opt/xtban/bin/xtban', '--json');
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { binary: string; files: { path: string; action: string }[] };
    expect(report.binary).toBe('/opt/xtban/bin/xtban');
    expect(report.files.every((file) => file.action === 'write')).toBe(true);
    expect(readdirSync(join(dir, 'units')).sort()).toEqual(['xtban-apply.service', 'xtban-reap.service', 'xtban-reap.timer', 'xtban.service']);
    const service = readFileSync(join(dir, 'units', 'xtban.service'), 'utf8');
    expect(service).toContain('\nExecStart=/opt/xtban/bin/xtban daemon\n');
    expect(service).toContain('\nExecStartPre=/opt/xtban/bin/xtban config check\n');
    expect(service).not.toContain('/usr/local/bin/xtban');
    expect(readFileSync(join(dir, 'action.d', 'xtban.conf'), 'utf8')).toMatch(/^xtban = \/opt\/xtban\/bin\/xtban$/m);
    // The config it leaves is valid as it stands.
    const check = spawnSync(process.execPath, [dist, '--config', join(dir, 'etc', 'xtban.toml'), '--state-dir', work, 'config', 'check'], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
  });

  it('keeps an existing config and says so; a second run changes nothing', () => {
    const dir = join(work, 'again');
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc', 'xtban.toml'), '# my own\n');
    expect(install(dir, '--bin', '/usr/local/bin/xtban').status).toBe(0);
    expect(readFileSync(join(dir, 'etc', 'xtban.toml'), 'utf8')).toBe('# my own\n');
    const second = install(dir, '--bin', '/usr/local/bin/xtban', '--json');
    const actions = (JSON.parse(second.stdout) as { files: { path: string; action: string }[] }).files.map((file) => file.action);
    expect(actions.filter((action) => action === 'unchanged')).toHaveLength(5);
    expect(actions.filter((action) => action === 'kept')).toHaveLength(1);
  });

  it('writes the module option a kept config calls for (a jail above ip_list_tot), as apply does', () => {
    const dir = join(work, 'big');
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc', 'xtban.toml'), '[jails.web]\nwindow = "1h"\ncapacity = 1000000\n');
    const modprobe = join(dir, 'modprobe.d');
    const result = spawnSync(
      process.execPath,
      [
        dist,
        'install',
        '--units-dir',
        join(dir, 'units'),
        '--fail2ban-dir',
        join(dir, 'action.d'),
        '--config-dir',
        join(dir, 'etc'),
        '--bin',
        '/usr/local/bin/xtban',
        '--json',
      ],
      { encoding: 'utf8', env: { ...process.env, XTBAN_MODPROBE_DIR: modprobe } },
    );
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { listSize: { path: string; result: string; wanted: number } | null };
    expect(report.listSize).toMatchObject({ path: join(modprobe, 'xtban.conf'), result: 'written', wanted: 1_000_000 });
    expect(readFileSync(join(modprobe, 'xtban.conf'), 'utf8')).toMatch(/^options xt_recent ip_list_tot=1000000$/m);
  });

  it('writes nothing with --dry-run', () => {
    const dir = join(work, 'dry');
    const result = install(dir, '--dry-run');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('would write');
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a --bin that is not a plain absolute path, with exit 2 and nothing written', () => {
    const dir = join(work, 'bad');
    for (const bad of ['xtban', '/opt/my tools/xtban', '/usr/bin/xtban\nExecStartPost=/bin/sh']) {
      const result = install(dir, '--bin', bad);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/--bin: the xtban binary must be an absolute path/);
      expect(existsSync(dir)).toBe(false);
    }
  });

  it('warns when systemd could not run the binary: under /home or /root (ProtectHome), or node off its PATH', async () => {
    const { binaryWarnings } = await import('../../src/cli/install.js');
    expect(binaryWarnings('/root/.npm-global/bin/xtban').join('\n')).toMatch(/ProtectHome=yes/);
    expect(binaryWarnings('/home/ops/bin/xtban').join('\n')).toMatch(/203\/EXEC/);
    expect(binaryWarnings('/usr/local/bin/xtban').filter((line) => line.includes('ProtectHome'))).toEqual([]);
    const result = install(join(work, 'home'), '--bin', '/root/bin/xtban');
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/warning: \/root\/bin\/xtban is under \/home, \/root or \/run\/user/);
  });
});
