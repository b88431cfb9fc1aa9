// End to end: a real sshd in fw logging to a file, the daemon following it with the sshd filter, and real
// ssh clients in attacker failing to log in. After maxretry failures the attacker's next connection is
// dropped; a safelisted client making the same failures is never banned.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, runXtban, type Topology } from './helpers/netns.js';
import { sleep, spawnXtban, workDir } from './helpers/work.js';

const work = workDir('sshd');
const SSH_PORT = 2222;
const SAFE_CLIENT = '192.0.2.3';

describeKernel('sshd end to end', () => {
  let topology: Topology;
  let sshd: ChildProcess | undefined;
  let daemon: ChildProcess | undefined;
  let logs = '';
  const sshLog = join(work, 'sshd.log');
  const config = join(work, 'xtban.toml');
  const stateDir = join(work, 'state');

  // One failed login: a key the server does not accept, no prompt, bounded by a timeout.
  const failLogin = (from: string) =>
    topology.exec(
      'attacker',
      'ssh',
      [
        '-b',
        from,
        '-i',
        join(work, 'client_key'),
        '-p',
        String(SSH_PORT),
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'ConnectTimeout=2',
        '-o',
        'LogLevel=ERROR',
        `nobody@${topology.addresses.fw.ipv4}`,
        'true',
      ],
      { timeoutMs: 5000 },
    );

  beforeAll(async () => {
    topology = await createTopology('sshd');
    await topology.addAttackerAddresses([SAFE_CLIENT]);
    for (const key of ['host_key', 'client_key']) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, key)]);
    mkdirSync('/run/sshd', { recursive: true });
    writeFileSync(
      join(work, 'sshd_config'),
      `Port ${SSH_PORT}\nListenAddress 0.0.0.0\nHostKey ${join(work, 'host_key')}\nPidFile ${join(work, 'sshd.pid')}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nLogLevel INFO\n`,
    );
    writeFileSync(sshLog, '');
    sshd = spawn('ip', ['netns', 'exec', topology.names.fw, '/usr/sbin/sshd', '-D', '-f', join(work, 'sshd_config'), '-E', sshLog], { stdio: 'ignore' });
    writeFileSync(
      config,
      `[safelist]\nown_addresses = false\naddresses = ["${SAFE_CLIENT}"]\n\n[jails.ssh]\nports = [${SSH_PORT}]\nwindow = "1h"\nmaxretry = 3\nfindtime = "10m"\nfamily = "ipv4"\n[[jails.ssh.sources]]\ntype = "file"\npath = "${sshLog}"\nfilter = "sshd"\nformat = "plain"\n`,
    );
    daemon = spawnXtban(topology.names.fw, ['--config', config, '--state-dir', stateDir, 'daemon'], { onOutput: (text) => (logs += text) });
    const started = Date.now();
    while (!logs.includes('offender sources started') || (await topology.probe(topology.addresses.fw.ipv4, SSH_PORT)) !== 'open') {
      if (Date.now() - started > 15_000) throw new Error(`sshd or the daemon did not start:\n${logs}`);
      await sleep(200);
    }
  });
  afterAll(async () => {
    daemon?.kill('SIGKILL');
    sshd?.kill('SIGKILL');
    await topology?.destroy();
  });

  it('drops the attacker after maxretry failed logins, never the safelisted client', async () => {
    for (let i = 0; i < 4; i++) {
      const result = await failLogin(SAFE_CLIENT);
      expect(result.stderr).toContain('Permission denied');
    }
    for (let i = 0; i < 3; i++) {
      const result = await failLogin(topology.addresses.attacker.ipv4);
      expect(result.stderr).toContain('Permission denied');
    }
    const started = Date.now();
    while ((await topology.probe(topology.addresses.fw.ipv4, SSH_PORT)) !== 'dropped') {
      if (Date.now() - started > 5000) throw new Error(`the attacker was not banned:\n${logs.slice(-3000)}\nsshd log:\n${readFileSync(sshLog, 'utf8')}`);
      await sleep(100);
    }
    const attempt = await failLogin(topology.addresses.attacker.ipv4);
    expect(attempt.stderr).toMatch(/timed out|Connection timed out/);
    expect(await topology.probe(topology.addresses.fw.ipv4, SSH_PORT, 400, SAFE_CLIENT)).toBe('open');
    const bans = JSON.parse((await runXtban(topology, ['--config', config, '--state-dir', stateDir, 'bans', '--json'])).stdout).bans as {
      address: string;
      source: string;
    }[];
    expect(bans.map((ban) => `${ban.address} ${ban.source}`)).toEqual([`${topology.addresses.attacker.ipv4} log`]);
  });
});
