// xtban serve in the fw namespace, fed hostile input: each bad line refused with a reason, nothing
// written, the session goes on.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, runXtban, type Topology } from './helpers/netns.js';
import { workDir } from './helpers/work.js';

const work = workDir('serve');

describeKernel('xtban serve', () => {
  let topology: Topology;
  const config = join(work, 'xtban.toml');
  const xtban = (args: string[], input?: string) =>
    runXtban(topology, ['--config', config, '--state-dir', join(work, 'state'), ...args], input === undefined ? {} : { input });

  beforeAll(async () => {
    topology = await createTopology('serve');
    writeFileSync(
      config,
      '[safelist]\naddresses = ["203.0.113.9"]\n\n[serve.keys.ops]\nrights = "full"\n\n[serve.keys.edge]\nrights = "ban-only"\n\n[jails.ssh]\nports = [22]\nfamily = "ipv4"\n\n[jails.web]\nports = [80]\nfamily = "ipv4"\n',
    );
    expect((await xtban(['apply'])).exitCode).toBe(0);
  });
  afterAll(async () => topology?.destroy());

  it('refuses hostile lines one by one, writes nothing for them, and serves the good ones', async () => {
    const lines = [
      'ban ssh 192.0.2.10; iptables -F',
      'ban ssh $(reboot)',
      `${'ban ssh 192.0.2.11\nban ssh 192.0.2.12'.split('\n')[0]} && unban ssh 192.0.2.1`,
      `ban ssh ${'9'.repeat(10_000)}`,
      '\u0000\u0001\u00ff binary',
      'drop ssh 192.0.2.13',
      'ban web 192.0.2.14',
      'ban ssh 203.0.113.9',
      `ban ssh ${topology.addresses.fw.ipv4}`,
      'ban ssh 192.0.2.15',
      'query ssh 192.0.2.15',
      'ban ssh 0.0.0.0',
      'unban ssh 192.0.2.16',
      'ban ssh 192.0.2.16',
      'unban ssh 192.0.2.16',
      '@abc-1 ban web 192.0.2.17',
      '@abc-2 ban ssh 192.0.2.18; x',
      'unban ssh 0.0.0.0',
    ];
    const result = await xtban(['serve', '--jails', 'ssh'], `${lines.join('\n')}\n`);
    expect(result.exitCode).toBe(0);
    const answers = result.stdout.trimEnd().split('\n');
    expect(answers).toHaveLength(lines.length);
    expect(answers.slice(0, 9).every((answer) => answer.startsWith('error '))).toBe(true);
    expect(answers[0]).toContain('unexpected character ";"');
    // Each of these is refused for good: a client's queue sets it aside instead of sending it again.
    expect(answers.slice(0, 9).every((answer) => answer.startsWith('error refused: '))).toBe(true);
    expect(answers[3]).toBe('error refused: line too long');
    expect(answers[4]).toBe('error refused: binary data');
    expect(answers[5]).toContain('unknown verb "drop"');
    expect(answers[6]).toContain('jail web is not permitted here');
    expect(answers[7]).toContain('203.0.113.9 is safelisted');
    expect(answers[8]).toContain('own address on xtb-fw');
    expect(answers[9]).toBe('ok banned 1');
    expect(answers[10]).toMatch(/^ok live offences 1 tier 1$/);
    expect(answers[11]).toBe('error refused: 0.0.0.0 is the unspecified address, which no host sends from; nothing written');
    // An unban says how many bans it ended: none for an address that was not banned.
    expect(answers.slice(12, 15)).toEqual(['ok unbanned 0', 'ok banned 1', 'ok unbanned 1']);
    // A refusal carries its request's id, found while parsing or later: the client's outbox moves past it.
    expect(answers[15]).toBe('@abc-1 error refused: jail web is not permitted here');
    expect(answers[16]).toMatch(/^@abc-2 error refused: unexpected character ";"/);
    // What may never be banned may still be lifted (a ban from before this rule).
    expect(answers[17]).toBe('ok unbanned 0');
    const listed = (await topology.exec('fw', 'cat', ['/proc/net/xt_recent/xtban-ssh'])).stdout;
    expect(listed.split('\n').filter((line) => line.startsWith('src='))).toEqual([expect.stringMatching(/^src=192\.0\.2\.15 /)]);
    expect((await topology.exec('fw', 'cat', ['/proc/net/xt_recent/xtban-web'])).stdout).toBe('');
  });

  const entries = async (list: string) =>
    (await topology.exec('fw', 'cat', [`/proc/net/xt_recent/${list}`])).stdout
      .split('\n')
      .flatMap((line) => /^src=(\S+) /.exec(line)?.[1] ?? [])
      .sort();
  const record = async (address: string) =>
    (JSON.parse((await xtban(['bans', '--jail', 'ssh', '--json'])).stdout).bans as { address: string; state: string; source: string }[]).find(
      (ban) => ban.address === address,
    );
  const serve = async (key: string, lines: string[]) => {
    const result = await xtban(['serve', '--jails', 'ssh', '--key', key], `${lines.join('\n')}\n`);
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout.trimEnd().split('\n');
  };

  it("lets a key end only the bans it made: the firewall's own permanent ban survives its unban and flush, a full key ends it", async () => {
    expect((await xtban(['flush', '--jail', 'ssh'])).exitCode).toBe(0);
    expect((await xtban(['ban', '192.0.2.50', '--jail', 'ssh', '--permanent', '--reason', 'by hand'])).exitCode).toBe(0);
    expect(await serve('web2', ['ban ssh 192.0.2.52'])).toEqual(['ok banned 1']);
    // web1's ban of an address banned by hand refreshes it, but never makes it web1's.
    expect(await serve('web1', ['ban ssh 192.0.2.51 192.0.2.53 192.0.2.50', 'ping'])).toEqual([
      'ok banned 3',
      'ok xtban-serve 1 key web1 rights own jails ssh',
    ]);
    expect(await record('192.0.2.50')).toMatchObject({ state: 'permanent', source: 'cli' });
    expect(await record('192.0.2.51')).toMatchObject({ state: 'live', source: 'remote:web1' });

    expect(await serve('web1', ['@w1-1 unban ssh 192.0.2.50 192.0.2.51', '@w1-2 flush ssh'])).toEqual([
      '@w1-1 ok unbanned 1; 1 not ours, kept: 192.0.2.50',
      '@w1-2 ok flushed 1; 2 not ours, kept',
    ]);
    // Untouched: the firewall's ban and web2's, in the store and in the kernel; web1's are gone from both.
    expect(await entries('xtban-ssh')).toEqual(['192.0.2.50', '192.0.2.52']);
    expect(await record('192.0.2.50')).toMatchObject({ state: 'permanent', source: 'cli', reason: 'by hand' });
    expect(await record('192.0.2.52')).toMatchObject({ state: 'live', source: 'remote:web2' });
    expect(await record('192.0.2.53')).toMatchObject({ state: 'ended', endReason: 'flush' });

    // A ban-only key may ban, never lift: refused for good, nothing written.
    const edge = await serve('edge', ['@e-1 unban ssh 192.0.2.52', '@e-2 flush ssh', '@e-3 ban ssh 192.0.2.54']);
    expect(edge[0]).toMatch(/^@e-1 error refused: unban is not allowed: key edge may only ban \(rights "ban-only" in \[serve\.keys\.edge\]/);
    expect(edge[1]).toMatch(/^@e-2 error refused: flush is not allowed: key edge may only ban/);
    expect(edge[2]).toBe('@e-3 ok banned 1');
    expect(await entries('xtban-ssh')).toEqual(['192.0.2.50', '192.0.2.52', '192.0.2.54']);
    expect(await record('192.0.2.52')).toMatchObject({ state: 'live' });

    // A key the config grants full rights ends any ban of its jails, as the firewall's own command line does.
    expect(await serve('ops', ['unban ssh 192.0.2.50'])).toEqual(['ok unbanned 1']);
    expect(await entries('xtban-ssh')).toEqual(['192.0.2.52', '192.0.2.54']);
    expect(await record('192.0.2.50')).toMatchObject({ state: 'ended' });
    expect(await serve('ops', ['flush ssh'])).toEqual(['ok flushed 2']);
    expect(await entries('xtban-ssh')).toEqual([]);
  });

  it('refuses a bad key name or a bad rights value before it writes anything', async () => {
    expect((await xtban(['ban', '192.0.2.60', '--jail', 'ssh'])).exitCode).toBe(0);
    for (const key of ['web 1', '-rf', 'a;b', '', 'x'.repeat(65)]) {
      const bad = await xtban(['serve', '--jails', 'ssh', '--key', key], 'flush ssh\n');
      expect(bad.exitCode, key).toBe(2);
      expect(bad.stderr, key).toContain('is not a valid key name');
      expect(bad.stdout, key).toBe('');
    }
    const badConfig = join(work, 'bad-rights.toml');
    writeFileSync(badConfig, '[serve.keys.web1]\nrights = "everything"\n\n[jails.ssh]\nports = [22]\nfamily = "ipv4"\n');
    const bad = await runXtban(topology, ['--config', badConfig, '--state-dir', join(work, 'state'), 'serve', '--jails', 'ssh', '--key', 'web1'], {
      input: 'flush ssh\n',
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('serve.keys.web1.rights = "everything": not a right');
    expect(bad.stdout).toBe('');
    expect(await entries('xtban-ssh')).toEqual(['192.0.2.60']);
    expect(await record('192.0.2.60')).toMatchObject({ state: 'live' });
  });

  it('refuses to start without --jails or with a jail the config lacks', async () => {
    expect((await xtban(['serve'], '')).exitCode).toBe(2);
    const unknown = await xtban(['serve', '--jails', 'ssh,mail'], '');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('--jails: no jail named "mail"');
  });
});
