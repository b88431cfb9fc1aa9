// The units in systemd/ pass `systemd-analyze verify` with no warning, and keep their hardening.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const unitsDir = new URL('../../systemd/', import.meta.url).pathname;
const main = new URL('../../dist/main.js', import.meta.url).pathname;
const units = readdirSync(unitsDir).filter((name) => /\.(service|timer)$/.test(name));
const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'xtban-units-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

if (!analyze) {
  const message = 'systemd-analyze not found: the unit checks need systemd (Debian: apt-get install systemd)';
  if (process.env['CI'] === 'true') {
    it('has systemd-analyze (CI=true forbids skipping)', () => {
      throw new Error(message);
    });
  } else console.warn(`\n*** unit checks skipped: ${message}\n`);
}

describe.skipIf(!analyze)('systemd units', () => {
  it('ships the daemon, the boot-time apply, and the reaper service with its timer', () => {
    expect(units.sort()).toEqual(['xtban-apply.service', 'xtban-reap.service', 'xtban-reap.timer', 'xtban.service']);
  });

  it('passes systemd-analyze verify without a warning', () => {
    // verify checks that ExecStart= is executable: point the units at the built CLI through a wrapper.
    const wrapper = join(work, 'xtban');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${process.execPath} ${main} "$@"\n`);
    chmodSync(wrapper, 0o755);
    for (const unit of units) writeFileSync(join(work, unit), readFileSync(join(unitsDir, unit), 'utf8').replaceAll('/usr/local/bin/xtban', wrapper));
    const result = spawnSync('systemd-analyze', ['verify', ...units.map((unit) => join(work, unit))], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('hardens the daemon and checks the config before starting it', () => {
    const service = readFileSync(join(unitsDir, 'xtban.service'), 'utf8');
    for (const line of [
      'ExecStartPre=/usr/local/bin/xtban config check',
      'ExecStart=/usr/local/bin/xtban daemon',
      'Restart=on-failure',
      'After=network-pre.target netfilter-persistent.service iptables.service ip6tables.service firewalld.service',
      'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW',
      'ProtectSystem=strict',
      'StateDirectory=xtban',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'ProtectHome=yes',
      'KillMode=mixed',
    ]) {
      expect(service).toContain(`\n${line}\n`);
    }
    expect(service).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
    expect(service).toContain('\nReadWritePaths=-/var/lib/prometheus/node-exporter\n');
    const timer = readFileSync(join(unitsDir, 'xtban-reap.timer'), 'utf8');
    expect(timer).toContain('\nOnCalendar=*:0/5\n');
    expect(timer).toContain('\nPersistent=true\n');
    expect(execFileSync('systemd-analyze', ['calendar', '*:0/5'], { encoding: 'utf8' })).toContain('Normalized form: *-*-* *:00/5:00');
  });

  it('lets every service start Node 20 (pkey_alloc) and fail a call outside its filter instead of dying', () => {
    for (const unit of units.filter((name) => name.endsWith('.service'))) {
      const text = readFileSync(join(unitsDir, unit), 'utf8');
      expect(text, unit).toContain('\nSystemCallFilter=@system-service @pkey\n');
      expect(text, unit).toContain('\nSystemCallErrorNumber=EPERM\n');
      // SQLite's fchown as root: denied, it failed quietly under EPERM and killed the unit under kill.
      expect(text, unit).toContain('\nSystemCallFilter=@chown\n');
      expect(execFileSync('systemd-analyze', ['syscall-filter', '@pkey'], { encoding: 'utf8' })).toContain('pkey_alloc');
    }
  });

  it('rates every service at most 2.7 in systemd-analyze security', () => {
    for (const unit of units.filter((name) => name.endsWith('.service'))) {
      const result = spawnSync('systemd-analyze', ['security', '--offline=yes', join(unitsDir, unit)], { encoding: 'utf8' });
      const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(result.stdout)?.[1]);
      expect(score, unit).toBeLessThanOrEqual(2.7);
    }
  });
});
