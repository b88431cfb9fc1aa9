import { describe, expect, it } from 'vitest';
import { planInstall, SHIPPED_BINARY, withBinary } from '../../src/core/install-plan.js';

const unit = `[Service]\nExecStartPre=${SHIPPED_BINARY} config check\nExecStart=${SHIPPED_BINARY} daemon\n`;

describe('withBinary', () => {
  it('names the installed CLI wherever the shipped file names /usr/local/bin/xtban', () => {
    expect(withBinary(unit, '/opt/node/bin/xtban')).toBe('[Service]\nExecStartPre=/opt/node/bin/xtban config check\nExecStart=/opt/node/bin/xtban daemon\n');
  });

  it('refuses a path that systemd or fail2ban would split, or that is not absolute', () => {
    for (const bad of ['xtban', 'bin/xtban', '/opt/my tools/xtban', '/usr/bin/xtban\nExecStartPost=/bin/sh', '/usr/bin/xtban;rm', '/usr/bin/$HOME', '']) {
      expect(() => withBinary(unit, bad), JSON.stringify(bad)).toThrow(/absolute path/);
    }
  });
});

describe('planInstall', () => {
  const files = [
    { target: '/etc/systemd/system/xtban.service', text: unit, keepExisting: false, mode: 0o644 },
    { target: '/etc/xtban/xtban.toml', text: '[jails.ssh]\n', keepExisting: true, mode: 0o644 },
  ];

  it('writes what is missing', () => {
    expect(planInstall(files, '/usr/local/bin/xtban', new Map()).map((step) => step.action)).toEqual(['write', 'write']);
  });

  it("rewrites a unit that differs, leaves one that is already right, and never replaces the administrator's config", () => {
    const existing = new Map([
      ['/etc/systemd/system/xtban.service', withBinary(unit, '/usr/bin/xtban')],
      ['/etc/xtban/xtban.toml', '# mine\n'],
    ]);
    const steps = planInstall(files, '/usr/local/bin/xtban', existing);
    expect(steps.map((step) => step.action)).toEqual(['write', 'kept']);
    expect(steps[1]?.text).toBe('# mine\n');
    const again = planInstall(files, '/usr/local/bin/xtban', new Map([['/etc/systemd/system/xtban.service', unit]]));
    expect(again[0]?.action).toBe('unchanged');
  });
});
