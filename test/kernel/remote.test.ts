// A central firewall over ssh: fw runs a real sshd whose key for the server is forced to `xtban serve`;
// server runs xtban with fw as its remote target; attacker connects to fw.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, nsExec, runXtban, SERVER_LINK, type Topology } from './helpers/netns.js';
import { CLI_MAIN, sleep, workDir } from './helpers/work.js';

const work = workDir('remote');
const SSH_PORT = 2222;

describeKernel('central firewall over ssh', () => {
  let topology: Topology;
  let port: number;
  let serverNs: string;
  const fwConfig = join(work, 'fw.toml');
  const fwState = join(work, 'fw-state');
  const serverConfig = join(work, 'server.toml');
  const serverState = join(work, 'server-state');
  const onFw = (...args: string[]) => runXtban(topology, ['--config', fwConfig, '--state-dir', fwState, ...args]);
  const onServer = (...args: string[]) => runXtban(serverNs, ['--config', serverConfig, '--state-dir', serverState, ...args]);

  const startSshd = async () => {
    // Killed by stopSshd (every sshd process of the namespace) or with the namespace.
    spawn('ip', ['netns', 'exec', topology.names.fw, '/usr/sbin/sshd', '-D', '-f', join(work, 'sshd_config'), '-E', join(work, 'sshd.log')], {
      stdio: 'ignore',
    });
    const started = Date.now();
    while (
      (
        await nsExec(serverNs, process.execPath, [
          '-e',
          `require('net').connect(${SSH_PORT},'${SERVER_LINK.fw}').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`,
        ])
      ).exitCode !== 0
    ) {
      if (Date.now() - started > 10_000) throw new Error('sshd did not start');
      await sleep(100);
    }
  };
  // Every sshd process of the fw namespace, sessions included: a master connection must not outlive it.
  const stopSshd = async () => {
    const pids = spawnSync('ip', ['netns', 'pids', topology.names.fw], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((pid) => pid !== '');
    for (const pid of pids) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('sshd')) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await sleep(200);
  };

  beforeAll(async () => {
    topology = await createTopology('remote', { server: true });
    serverNs = topology.names.fw.replace(/-fw$/, '-server');
    port = (await topology.startTcpServer(0)).port;
    for (const key of ['host_key', 'client_key']) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, key)]);
    mkdirSync('/run/sshd', { recursive: true });
    writeFileSync(
      fwConfig,
      `[safelist]\nown_addresses = true\naddresses = ["203.0.113.250"]\n\n[jails.ssh]\nports = [${port}]\nwindow = "1h"\nfamily = "ipv4"\nhooks = ["INPUT", "FORWARD"]\ncapacity = 300\n`,
    );
    expect((await onFw('apply')).exitCode).toBe(0);
    const forced = `command="${process.execPath} ${CLI_MAIN} --config ${fwConfig} --state-dir ${fwState} serve --jails ssh",restrict`;
    writeFileSync(join(work, 'authorized_keys'), `${forced} ${readFileSync(join(work, 'client_key.pub'), 'utf8')}`);
    writeFileSync(
      join(work, 'sshd_config'),
      `Port ${SSH_PORT}\nListenAddress ${SERVER_LINK.fw}\nHostKey ${join(work, 'host_key')}\nPidFile ${join(work, 'sshd.pid')}\nAuthorizedKeysFile ${join(work, 'authorized_keys')}\nStrictModes no\nPermitRootLogin forced-commands-only\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nLogLevel INFO\n`,
    );
    writeFileSync(join(work, 'known_hosts'), `[${SERVER_LINK.fw}]:${SSH_PORT} ${readFileSync(join(work, 'host_key.pub'), 'utf8')}`);
    writeFileSync(
      serverConfig,
      `[safelist]\nown_addresses = false\n\n[remotes.fw]\nhost = "${SERVER_LINK.fw}"\nport = ${SSH_PORT}\nuser = "root"\nkey = "${join(work, 'client_key')}"\nknown_hosts = "${join(work, 'known_hosts')}"\n\n[jails.ssh]\nports = [22]\nfamily = "ipv4"\nremote = ["fw"]\nremote_only = true\n`,
    );
    await startSshd();
  });
  afterAll(async () => {
    await stopSshd().catch(() => undefined);
    await topology?.destroy();
  });

  it('checks the target, and a ban issued on the server drops the attacker at the firewall', async () => {
    const check = await onServer('remote', 'check', '--json');
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    expect(JSON.parse(check.stdout).targets[0]).toMatchObject({ target: 'fw', ok: true, jails: ['ssh'] });
    expect(await topology.probe(topology.addresses.fw.ipv4, port)).toBe('open');
    const banned = await onServer('ban', topology.addresses.attacker.ipv4);
    expect(banned.exitCode, banned.stderr).toBe(0);
    expect(banned.stdout).toContain('sent to fw: 1 request(s)');
    expect(
      (
        await topology.exec('fw', 'cat', [
          '/proc/net/xt_recent/xtban-ssh.0',
          '/proc/net/xt_recent/xtban-ssh.1',
          '/proc/net/xt_recent/xtban-ssh.2',
          '/proc/net/xt_recent/xtban-ssh.3',
          '/proc/net/xt_recent/xtban-ssh.4',
        ])
      ).stdout,
    ).toContain(`src=${topology.addresses.attacker.ipv4} `);
    expect(await topology.probe(topology.addresses.fw.ipv4, port)).toBe('dropped');
    const onFirewall = JSON.parse((await onFw('bans', '--json')).stdout).bans as { address: string; source: string; reason: string }[];
    expect(onFirewall).toEqual([
      expect.objectContaining({ address: topology.addresses.attacker.ipv4, source: 'remote', reason: `remote ${SERVER_LINK.server}` }),
    ]);
  });

  it('queues 100 bans while the firewall is down and delivers them all, in order, once', async () => {
    await stopSshd();
    const addresses = Array.from({ length: 100 }, (_, i) => `203.0.113.${i + 1}`);
    for (let i = 0; i < 10; i++) {
      const result = await onServer('ban', ...addresses.slice(i * 10, i * 10 + 10));
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toContain('queued for fw');
    }
    const down = await onServer('remote', 'check', '--json');
    expect(down.exitCode).toBe(1);
    const target = JSON.parse(down.stdout).targets[0];
    expect(target).toMatchObject({ ok: false, queued: 100 });
    expect(target.fix).toContain('is sshd running on the firewall');

    await startSshd();
    const delivered = await onServer('remote', 'deliver', '--json');
    expect(delivered.exitCode, delivered.stderr).toBe(0);
    expect(JSON.parse(delivered.stdout).targets[0]).toMatchObject({ delivered: 100, left: 0, refused: [] });
    const again = JSON.parse((await onServer('remote', 'deliver', '--json')).stdout).targets[0];
    expect(again).toMatchObject({ delivered: 0, left: 0 });

    const bans = (
      JSON.parse((await onFw('bans', '--json')).stdout).bans as { address: string; offences: number; bannedAt: number; inKernel: boolean }[]
    ).filter((ban) => ban.address.startsWith('203.0.113.'));
    expect(bans).toHaveLength(100);
    expect(bans.every((ban) => ban.offences === 1 && ban.inKernel)).toBe(true);
    const byIssue = addresses.map((address) => bans.find((ban) => ban.address === address)?.bannedAt ?? -1);
    for (let i = 1; i < byIssue.length; i++) expect(byIssue[i]).toBeGreaterThanOrEqual(byIssue[i - 1] ?? 0);
  });

  it('sets aside a request the firewall refuses for good (a jail it does not permit): later bans still arrive', async () => {
    // The server now sends jail web to fw too, which fw's forced command does not permit.
    writeFileSync(serverConfig, `${readFileSync(serverConfig, 'utf8')}\n[jails.web]\nports = [80]\nfamily = "ipv4"\nremote = ["fw"]\nremote_only = true\n`);
    const refused = await onServer('ban', '--jail', 'web', '192.0.2.77');
    expect(refused.exitCode, refused.stderr).toBe(0);
    const later = await onServer('ban', '--jail', 'ssh', '192.0.2.78', '192.0.2.79');
    expect(later.exitCode, later.stderr).toBe(0);
    expect((await onServer('remote', 'deliver', '--json')).exitCode).toBe(0);
    const onFirewall = (JSON.parse((await onFw('bans', '--json')).stdout).bans as { address: string }[]).map((ban) => ban.address);
    expect(onFirewall).toEqual(expect.arrayContaining(['192.0.2.78', '192.0.2.79']));
    expect(onFirewall).not.toContain('192.0.2.77');

    const check = await onServer('remote', 'check', '--json');
    expect(check.exitCode).toBe(1);
    const target = JSON.parse(check.stdout).targets[0];
    expect(target).toMatchObject({ queued: 0, deadLetters: 1, rights: 'own' });
    expect(target.newestDeadLetters).toEqual([
      expect.objectContaining({
        request: 'ban web 192.0.2.77',
        answer: expect.stringMatching(/^@\S+ error refused: jail web is not permitted here$/) as unknown,
      }),
    ]);
    const human = await onServer('remote', 'check');
    expect(human.stdout).toContain('fw: 1 request(s) refused for good by the firewall and set aside');
    expect(human.stdout).toContain('ban web 192.0.2.77  ->  @');

    const forgotten = await onServer('remote', 'forget-dead', 'fw', '--json');
    expect(forgotten.exitCode, forgotten.stderr).toBe(0);
    expect(JSON.parse(forgotten.stdout)).toEqual({ target: 'fw', forgotten: 1 });
    expect((await onServer('remote', 'forget-dead', 'nope')).exitCode).toBe(2);
  });
});
