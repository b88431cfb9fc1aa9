// Debian's own fail2ban.service with `banaction = xtban`, reading a real sshd's lines from the journal
// (its systemd backend, as on Debian 12, which has no auth.log): fail2ban finds, xtban bans.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addAttacker, bootContainer, describeSystem, until, type Attacker, type Container } from './helpers/container.js';
import { stagedInstall } from './helpers/install.js';

const ATTACKER = '192.0.2.2';

describeSystem('fail2ban.service with banaction = xtban', () => {
  let container: Container;
  let attacker: Attacker;
  const xtban = async (...args: string[]) => container.run('xtban', args);

  beforeAll(async () => {
    container = await bootContainer('xtf', await stagedInstall());
    attacker = await addAttacker(container, [ATTACKER]);
    const installed = await xtban('install');
    expect(installed).toContain('/etc/fail2ban/action.d/xtban.conf');
    container.writeFile('/etc/xtban/xtban.toml', '[jails.sshd]\nports = [22]\nwindow = "1h"\nfamily = "ipv4"\n');
    container.writeFile(
      '/etc/fail2ban/jail.local',
      '[DEFAULT]\nbanaction = xtban\nbanaction_allports = xtban\n\n[sshd]\nenabled = true\nbackend = systemd\nmaxretry = 3\nfindtime = 10m\nbantime = 1h\n',
    );
    await container.run('systemctl', ['restart', 'fail2ban.service']);
    await until('fail2ban running its sshd jail', async () => (await container.exec('fail2ban-client', ['status', 'sshd'])).exitCode === 0, 30_000, 250);
    // actionstart: `xtban apply`.
    await until('the xtban chain in place', async () => (await container.run('iptables-save')).includes('-j xtban-sshd'), 20_000, 250);
  }, 900_000);
  afterAll(async () => {
    await container?.destroy();
  });

  it('runs the installed action, which calls the installed binary', () => {
    expect(container.readFile('/etc/fail2ban/action.d/xtban.conf')).toMatch(/^xtban = \/usr\/local\/bin\/xtban$/m);
  });

  it('bans through xtban: in the store, in the kernel, and the attacker dropped', async () => {
    // Wrong passwords, a bounded number: fail2ban bans after maxretry of the lines it reads.
    for (let attempt = 0; attempt < 8 && (await attacker.probe(22)) === 'open'; attempt++) await attacker.failPassword();
    await until('the attacker dropped', async () => (await attacker.probe(22)) === 'dropped', 10_000, 250);
    const bans = (
      JSON.parse(await xtban('bans', '--json')) as { bans: { address: string; state: string; inKernel: boolean; source: string; reason: string }[] }
    ).bans;
    expect(bans.find((ban) => ban.address === ATTACKER)).toMatchObject({ state: 'live', inKernel: true, source: 'fail2ban', reason: 'fail2ban sshd' });
    expect(await container.run('cat', ['/proc/net/xt_recent/xtban-sshd'])).toContain(`src=${ATTACKER} `);
    expect(await container.run('fail2ban-client', ['status', 'sshd'])).toContain(ATTACKER);
  });
});
