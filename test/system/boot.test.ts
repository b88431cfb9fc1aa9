// The setup without the daemon, as an administrator deploys it: xtban-apply.service at boot puts the
// chains and the store's live bans back with nobody typing a command, and xtban-reap.timer reaps by itself.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bootContainer, describeSystem, journalLines, sleep, strictSyscallFilter, until, type Container } from './helpers/container.js';
import { stagedInstall } from './helpers/install.js';

const config = `[safelist]
own_addresses = true

[jails.ssh]
ports = [22]
window = "1h"

[jails.quick]
ports = [2222]
window = "2s"
family = "ipv4"
`;

describeSystem('xtban-apply.service and xtban-reap.timer under systemd', () => {
  let container: Container;
  const xtban = async (...args: string[]) => container.run('xtban', args);
  const list = (name: string) => container.exec('cat', [`/proc/net/xt_recent/${name}`]);
  const bans = async () =>
    (JSON.parse(await xtban('bans', '--json')) as { bans: { jail: string; address: string; state: string; endReason: string | null }[] }).bans;

  beforeAll(async () => {
    container = await bootContainer('xtb', await stagedInstall());
    await xtban('install');
    container.writeFile('/etc/xtban/xtban.toml', config);
    strictSyscallFilter(container, ['xtban-apply.service', 'xtban-reap.service']);
    await container.run('systemctl', ['daemon-reload']);
    await container.run('systemctl', ['enable', '--now', 'xtban-apply.service']);
  }, 900_000);
  afterAll(async () => {
    await container?.destroy();
  });

  it('applies at start: chains, jumps and lists in place', async () => {
    expect((await container.run('systemctl', ['show', 'xtban-apply.service', '-p', 'ActiveState', '--value'])).trim()).toBe('active');
    expect((await container.run('systemctl', ['show', 'xtban-apply.service', '-p', 'Result', '--value'])).trim()).toBe('success');
    const rules = await container.run('iptables-save');
    expect(rules).toContain('-j xtban-ssh');
    expect(rules).toContain('-j xtban-quick');
    expect((await container.run('ip6tables-save')).includes('-j xtban-ssh')).toBe(true);
    expect((await list('xtban-ssh')).exitCode).toBe(0);
  });

  it('puts the chains and the live bans back after a reboot, with nobody typing a command', async () => {
    await xtban('ban', '--jail', 'ssh', '198.51.100.7', '2001:db8::7');
    await xtban('ban', '--jail', 'ssh', '--permanent', '203.0.113.9');
    await container.reboot();
    // The state directory persisted, the kernel's state did not: what is there now, apply put there.
    expect(container.readFile('/var/lib/xtban/bans.sqlite').length).toBeGreaterThan(0);
    await until(
      'xtban-apply.service done',
      async () => (await container.run('systemctl', ['show', 'xtban-apply.service', '-p', 'ActiveState', '--value'])).trim() === 'active',
      30_000,
    );
    const boots = await container.run('journalctl', ['--list-boots', '--no-pager']);
    expect(boots.trim().split('\n').length).toBeGreaterThanOrEqual(3);
    expect((await container.run('iptables-save')).includes('-j xtban-ssh')).toBe(true);
    expect((await list('xtban-ssh')).stdout).toContain('src=198.51.100.7 ');
    expect((await list('xtban-ssh')).stdout).toContain('src=203.0.113.9 ');
    expect((await list('xtban-ssh.v6')).stdout).toContain('src=2001:0db8:0000:0000:0000:0000:0000:0007 ');
    // This boot's apply is the one that did it.
    const applied = (await container.run('journalctl', ['-b', '-u', 'xtban-apply.service', '-o', 'cat', '--no-pager'])).trim();
    expect(applied).toContain('restore: 3 ban(s) put back');
  });

  it('reaps by its timer alone: stale entries out of the kernel, their bans ended in the store', async () => {
    // Every 5 s instead of every 5 minutes, through a drop-in as an administrator would shorten it.
    container.writeFile(
      '/etc/systemd/system/xtban-reap.timer.d/often.conf',
      '[Timer]\nOnCalendar=\nOnCalendar=*:*:0/5\nAccuracySec=1s\nRandomizedDelaySec=0\n',
    );
    await container.run('systemctl', ['daemon-reload']);
    await container.run('systemctl', ['enable', '--now', 'xtban-reap.timer']);
    await xtban('ban', '--jail', 'quick', '192.0.2.77');
    expect((await list('xtban-quick')).stdout).toContain('src=192.0.2.77 ');
    // Silent for longer than the 2 s window: the next pass removes it.
    await until('the stale entry reaped', async () => !(await list('xtban-quick')).stdout.includes('src=192.0.2.77 '), 20_000, 250);
    const ban = (await bans()).find((entry) => entry.address === '192.0.2.77');
    expect(ban).toMatchObject({ jail: 'quick', endReason: 'reaped' });
    // The live bans of the other jail stay.
    expect((await list('xtban-ssh')).stdout).toContain('src=198.51.100.7 ');
    const runs = await journalLines(container, 'xtban-reap.service');
    expect(runs.some((line) => line.includes('Finished xtban-reap.service') || line.includes('Deactivated successfully'))).toBe(true);
    expect(runs.join('\n')).not.toMatch(/status=31\/SYS|signal=SYS/);
    await sleep(100);
  });
});
