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
  const xtban = (args: string[], input?: string) => runXtban(topology, ['--config', config, '--state-dir', join(work, 'state'), ...args], input === undefined ? {} : { input });

  beforeAll(async () => {
    topology = await createTopology('serve');
    writeFileSync(config, '[safelist]\naddresses = ["203.0.113.9"]\n\n[jails.ssh]\nports = [22]\nfamily = "ipv4"\n\n[jails.web]\nports = [80]\nfamily = "ipv4"\n');
    expect((await xtban(['apply'])).exitCode).toBe(0);
  });
  afterAll(async () => topology?.destroy());

  it('refuses hostile lines one by one, writes nothing for them, and serves the good ones', async () => {
    const lines = [
      'ban ssh 192.0.2.10; iptables -F',
      'ban ssh $(reboot)',
      'ban ssh 192.0.2.11\nban ssh 192.0.2.12'.split('\n')[0] + ' && unban ssh 192.0.2.1',
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
    expect(answers[3]).toBe('error line too long: refused');
    expect(answers[4]).toBe('error binary data: refused');
    expect(answers[5]).toContain('unknown verb "drop"');
    expect(answers[6]).toContain('jail web is not permitted here');
    expect(answers[7]).toContain('203.0.113.9 is safelisted');
    expect(answers[8]).toContain('own address on xtb-fw');
    expect(answers[9]).toBe('ok banned 1');
    expect(answers[10]).toMatch(/^ok live offences 1 tier 1$/);
    expect(answers[11]).toBe('error 0.0.0.0 is the unspecified address, which no host sends from; nothing written');
    // An unban says how many bans it ended: none for an address that was not banned.
    expect(answers.slice(12, 15)).toEqual(['ok unbanned 0', 'ok banned 1', 'ok unbanned 1']);
    // A refusal carries its request's id, found while parsing or later: the client's outbox moves past it.
    expect(answers[15]).toBe('@abc-1 error jail web is not permitted here');
    expect(answers[16]).toMatch(/^@abc-2 error unexpected character ";"/);
    // What may never be banned may still be lifted (a ban from before this rule).
    expect(answers[17]).toBe('ok unbanned 0');
    const listed = (await topology.exec('fw', 'cat', ['/proc/net/xt_recent/xtban-ssh'])).stdout;
    expect(listed.split('\n').filter((line) => line.startsWith('src='))).toEqual([expect.stringMatching(/^src=192\.0\.2\.15 /)]);
    expect((await topology.exec('fw', 'cat', ['/proc/net/xt_recent/xtban-web'])).stdout).toBe('');
  });

  it('refuses to start without --jails or with a jail the config lacks', async () => {
    expect((await xtban(['serve'], '')).exitCode).toBe(2);
    const unknown = await xtban(['serve', '--jails', 'ssh,mail'], '');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('--jails: no jail named "mail"');
  });
});
