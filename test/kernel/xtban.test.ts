// xtban against the real kernel: real iptables (both backends), real lists, real TCP across a veth pair.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, runXtban, type Backend, type Topology } from './helpers/netns.js';
import { sleep, workDir } from './helpers/work.js';

const work = workDir('kernel');

let configCount = 0;
function writeConfig(text: string): string {
  const path = join(work, `config-${++configCount}.toml`);
  writeFileSync(path, text);
  return path;
}

// Each topology gets a ban store of its own, never the host's /var/lib/xtban.
function stateDir(topology: Topology): string {
  return join(work, `state-${topology.names.fw}`);
}

// iptables-save without its comment lines (they carry the time of the dump) and with chain counters
// zeroed (neighbour discovery moves them; the rules are what is compared).
function withoutComments(save: string): string {
  return save
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => (line.startsWith(':') ? line.replace(/\[\d+:\d+\]$/, '[0:0]') : line))
    .join('\n');
}

async function listText(topology: Topology, list: string): Promise<string> {
  return (await topology.execOk('fw', 'cat', [`/proc/net/xt_recent/${list}`])).stdout;
}

describeKernel('sliding-window bans with real packets', () => {
  let topology: Topology;
  let port: number;
  let config: string;
  const xtban = (...args: string[]) => runXtban(topology, ['--config', config, '--state-dir', stateDir(topology), ...args]);

  beforeAll(async () => {
    topology = await createTopology('slide');
    const server = await topology.startTcpServer(0);
    port = server.port;
    config = writeConfig(`[jails.ssh]\nports = [${port}]\nprotocol = "tcp"\nwindow = "2s"\naction = "DROP"\n`);
    const applied = await xtban('apply');
    expect(applied.exitCode, applied.stderr).toBe(0);
  });
  afterAll(async () => topology?.destroy());

  for (const family of ['ipv4', 'ipv6'] as const) {
    it(`${family}: passes, is dropped after ban, stays dropped while it keeps trying, passes after silence and after unban`, async () => {
      const target = topology.addresses.fw[family];
      const attacker = topology.addresses.attacker[family];
      expect(await topology.probe(target, port)).toBe('open');

      const banned = await xtban('ban', attacker);
      expect(banned.exitCode, banned.stderr).toBe(0);
      expect(await topology.probe(target, port)).toBe('dropped');

      // Keep sending for 3.5 s, longer than the 2 s window: every dropped SYN refreshes the entry.
      const until = Date.now() + 3500;
      while (Date.now() < until) {
        expect(await topology.probe(target, port, 300)).toBe('dropped');
        await sleep(200);
      }
      expect(await topology.probe(target, port)).toBe('dropped');

      const listName = family === 'ipv4' ? 'xtban-ssh' : 'xtban-ssh.v6';
      const entryIn = (report: { lists: { list: string; entries: { address: string; state: string; hits: number; ttl: number }[] }[] }) =>
        report.lists.find((candidate) => candidate.list === listName)?.entries.find((candidate) => candidate.address === attacker);
      const status = JSON.parse((await xtban('status', '--json')).stdout);
      const entry = entryIn(status);
      if (!entry) throw new Error(`${attacker} is not in ${listName}`);
      expect(entry.state).toBe('live');
      expect(entry.hits).toBeGreaterThan(5);
      expect(entry.ttl).toBeGreaterThan(0);

      // Silence for longer than the window: the next connection passes.
      await sleep(2600);
      const stale = JSON.parse((await xtban('status', '--json')).stdout);
      expect(entryIn(stale)?.state).toBe('stale');
      expect(await topology.probe(target, port)).toBe('open');

      // A new ban drops again; unban lets it through at once.
      expect((await xtban('ban', attacker)).exitCode).toBe(0);
      expect(await topology.probe(target, port)).toBe('dropped');
      const unbanned = await xtban('unban', attacker);
      expect(unbanned.exitCode).toBe(0);
      expect(unbanned.stdout).toContain(`unbanned ${attacker} in ssh`);
      expect(await topology.probe(target, port)).toBe('open');
    });
  }

  it('changes lists with the mask: the live bans go back masked and new bans match', async () => {
    const target = topology.addresses.fw.ipv4;
    // An address of its own: the attacker's /30 must not hold the firewall's own address.
    const attacker = '192.0.2.77';
    await topology.addAttackerAddresses([attacker]);
    const probe = () => topology.probe(target, port, 400, attacker);
    const before = config;
    config = writeConfig(`[jails.ssh]\nports = [${port}]\nprotocol = "tcp"\nwindow = "1h"\naction = "DROP"\nfamily = "ipv4"\n`);
    try {
      expect((await xtban('apply')).exitCode).toBe(0);
      expect((await xtban('ban', attacker)).exitCode).toBe(0);
      expect(await probe()).toBe('dropped');
      // The jail now bans whole /30s.
      config = writeConfig(`[jails.ssh]\nports = [${port}]\nprotocol = "tcp"\nwindow = "1h"\naction = "DROP"\nfamily = "ipv4"\nmask = { ipv4 = 30 }\n`);
      const applied = await xtban('apply');
      expect(applied.exitCode, applied.stderr).toBe(0);
      // Lists of another mask are other lists (xtban-ssh.m30): the rules and the lists change together.
      expect(applied.stdout).toContain('rewrote the chain');
      expect((await topology.exec('fw', 'ls', ['/proc/net/xt_recent'])).stdout.trim()).toBe('xtban-ssh.m30');
      // The store's live ban went back as its network, and the kernel matches it.
      expect(await listText(topology, 'xtban-ssh.m30'), applied.stdout + applied.stderr).toContain('src=192.0.2.76 ');
      expect(await probe()).toBe('dropped');
      // An unban ends the ban made before the change too: no reap or apply puts its network back.
      expect((await xtban('unban', attacker)).exitCode).toBe(0);
      expect(await probe()).toBe('open');
      expect((await xtban('reap')).exitCode).toBe(0);
      expect((await xtban('apply')).exitCode).toBe(0);
      expect(await probe()).toBe('open');
      // A new ban, masked the new way, matches too.
      expect((await xtban('ban', attacker)).exitCode).toBe(0);
      expect(await probe()).toBe('dropped');
      // A second apply changes nothing.
      expect((await xtban('apply')).stdout).toContain('nothing changed');
    } finally {
      config = before;
      await xtban('teardown');
      await xtban('apply');
    }
  });
});

for (const backend of ['nft', 'legacy'] as const satisfies readonly Backend[]) {
  describeKernel(`apply, check and teardown (${backend} backend)`, () => {
    let topology: Topology;
    let config: string;
    const xtban = (...args: string[]) => runXtban(topology, ['--config', config, '--state-dir', stateDir(topology), ...args]);
    const iptables = (family: 4 | 6, ...args: string[]) => topology.execOk('fw', `${family === 4 ? 'iptables' : 'ip6tables'}-${backend}`, args);
    const save = async (family: 4 | 6) => withoutComments(await topology.iptablesSave('fw', family, backend));

    beforeAll(async () => {
      topology = await createTopology(`apply${backend}`);
      config = writeConfig(
        `[firewall]\nbackend = "${backend}"\n\n[jails.ssh]\nports = [22]\nwindow = "1h"\nlog = true\n\n[jails.web]\nports = [80, 443]\nwindow = "10m"\naction = "REJECT"\nfamily = "ipv4"\nhooks = ["INPUT", "FORWARD"]\n`,
      );
    });
    afterAll(async () => topology?.destroy());

    it('creates everything once, a second apply changes nothing, teardown restores the ruleset', async () => {
      // Some rules of the administrator's own, which xtban must leave alone.
      await iptables(4, '-A', 'INPUT', '-p', 'tcp', '--dport', '8080', '-j', 'ACCEPT');
      await iptables(6, '-A', 'INPUT', '-p', 'udp', '--dport', '53', '-j', 'ACCEPT');
      const before = { 4: await save(4), 6: await save(6) };

      const banned = await xtban('ban', '192.0.2.9');
      expect(banned.exitCode).toBe(3);
      expect(banned.stderr).toContain('not found in /proc/net/xt_recent');
      expect(banned.stderr).toContain('run `xtban apply` first');
      expect(banned.stderr).toContain('nothing was banned');
      const flushed = await xtban('flush');
      expect(flushed.exitCode).toBe(3);
      expect(flushed.stderr).toContain('nothing was flushed');
      // Nothing reached the store either: no ban to put back later, no flush event.
      const recorded = JSON.parse((await xtban('bans', '--json')).stdout) as { bans: unknown[] };
      expect(recorded.bans).toEqual([]);

      const dry = await xtban('apply', '--dry-run');
      expect(dry.exitCode, dry.stderr).toBe(0);
      expect(dry.stdout).toContain('-I INPUT 1 -p tcp -m tcp --dport 22 -j xtban-ssh');
      expect({ 4: await save(4), 6: await save(6) }).toEqual(before);

      const first = await xtban('apply');
      expect(first.exitCode, first.stderr).toBe(0);
      const applied = { 4: await save(4), 6: await save(6) };
      expect(applied[4]).toContain('-A xtban-ssh -m recent --update --seconds 3600 --name xtban-ssh --mask 255.255.255.255 --rsource -j DROP');
      expect(applied[4]).toContain('-A FORWARD -p tcp -m multiport --dports 80,443 -j xtban-web');
      expect(applied[6]).toContain('-A INPUT -p tcp -m tcp --dport 22 -j xtban-ssh');
      expect(applied[6]).not.toContain('xtban-web');
      expect(applied[4]).toContain('-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT');

      const second = await xtban('apply', '--json');
      expect(second.exitCode).toBe(0);
      expect(JSON.parse(second.stdout).families.map((family: { changed: boolean }) => family.changed)).toEqual([false, false]);
      expect({ 4: await save(4), 6: await save(6) }).toEqual(applied);

      const check = await xtban('check');
      expect(check.exitCode, check.stdout + check.stderr).toBe(0);
      // check judges no address: a safelist file that is missing leaves its answer alone, and still stops a ban.
      const unsafe = writeConfig(`[safelist]\nfiles = ["${join(work, 'missing-safelist.txt')}"]\n\n${readFileSync(config, 'utf8')}`);
      const withUnsafe = (...args: string[]) => runXtban(topology, ['--config', unsafe, '--state-dir', stateDir(topology), ...args]);
      const unsafeCheck = await withUnsafe('check');
      expect(unsafeCheck.exitCode, unsafeCheck.stdout + unsafeCheck.stderr).toBe(0);
      const unsafeBan = await withUnsafe('ban', '192.0.2.9');
      expect(unsafeBan.exitCode).toBe(2);
      expect(unsafeBan.stderr).toContain('missing-safelist.txt cannot be read (ENOENT)');

      const teardown = await xtban('teardown');
      expect(teardown.exitCode, teardown.stderr).toBe(0);
      expect({ 4: await save(4), 6: await save(6) }).toEqual(before);
      expect((await topology.exec('fw', 'ls', ['/proc/net/xt_recent'])).stdout.trim()).toBe('');
    });

    it('check finds a deleted jump and a duplicated one; apply repairs both and keeps the bans', async () => {
      expect((await xtban('apply')).exitCode).toBe(0);
      expect((await xtban('ban', '198.51.100.7', '--jail', 'ssh')).exitCode).toBe(0);

      await iptables(4, '-D', 'INPUT', '-p', 'tcp', '-m', 'tcp', '--dport', '22', '-j', 'xtban-ssh');
      await iptables(6, '-I', 'INPUT', '-p', 'tcp', '-m', 'tcp', '--dport', '22', '-j', 'xtban-ssh');
      const check = await xtban('check', '--json');
      expect(check.exitCode).toBe(1);
      const problems = JSON.parse(check.stdout).problems.map((problem: { family: number; kind: string }) => `${problem.family}:${problem.kind}`);
      expect(problems).toEqual(['4:jump-missing', '6:jump-duplicated']);

      const repaired = await xtban('apply');
      expect(repaired.exitCode, repaired.stderr).toBe(0);
      expect(repaired.stdout).toContain('added the jump');
      expect(repaired.stdout).toContain('removed duplicate jumps');
      expect((await xtban('check')).exitCode).toBe(0);
      expect((await save(4)).match(/-j xtban-ssh$/gm)).toHaveLength(1);
      expect((await save(6)).match(/-j xtban-ssh$/gm)).toHaveLength(1);
      // Repairing jumps never touched the chain, so the list and its ban survived.
      expect(await listText(topology, 'xtban-ssh')).toContain('src=198.51.100.7 ');

      await iptables(4, '-F', 'xtban-web');
      const flushedChain = await xtban('check');
      expect(flushedChain.exitCode).toBe(1);
      expect(flushedChain.stdout).toContain('chain xtban-web does not hold the expected 2 rules');
      expect(flushedChain.stdout).toContain('list xtban-web is missing');
      expect((await xtban('apply')).exitCode).toBe(0);
      expect((await xtban('check')).exitCode).toBe(0);
      expect((await xtban('teardown')).exitCode).toBe(0);
    });

    it('removes the chains of a jail dropped from the config, and of a family a jail no longer takes, never a chain it did not make', async () => {
      expect((await xtban('apply')).exitCode).toBe(0);
      // An administrator's own chain whose name only looks like xtban's.
      await iptables(4, '-N', 'xtban-allow');
      await iptables(4, '-A', 'xtban-allow', '-j', 'ACCEPT');
      await iptables(4, '-A', 'INPUT', '-p', 'tcp', '--dport', '9000', '-j', 'xtban-allow');
      const full = config;
      // web goes, ssh keeps only IPv4.
      config = writeConfig(`[firewall]\nbackend = "${backend}"\n\n[jails.ssh]\nports = [22]\nwindow = "1h"\nlog = true\nfamily = "ipv4"\n`);
      try {
        const check = await xtban('check', '--json');
        expect(check.exitCode).toBe(1);
        const problems = JSON.parse(check.stdout).problems.map(
          (problem: { family: number; jail: string; kind: string }) => `${problem.family}:${problem.jail}:${problem.kind}`,
        );
        expect(problems).toEqual(['4:web:chain-unconfigured', '6:ssh:chain-unconfigured']);
        const applied = await xtban('apply');
        expect(applied.exitCode, applied.stderr).toBe(0);
        expect(applied.stdout).toContain('web: removed the chain of a jail no longer configured');
        expect(await save(4)).not.toContain('xtban-web');
        expect(await save(6)).not.toContain('xtban-ssh');
        expect(await save(4)).toContain('-j xtban-ssh');
        expect(await save(4)).toContain('-A INPUT -p tcp -m tcp --dport 9000 -j xtban-allow');
        expect((await xtban('check')).exitCode).toBe(0);
        expect((await xtban('apply')).stdout).toContain('nothing changed');
        // teardown takes the name of a jail the config no longer has.
        config = full;
        expect((await xtban('apply')).exitCode).toBe(0);
        config = writeConfig(`[firewall]\nbackend = "${backend}"\n\n[jails.ssh]\nports = [22]\nwindow = "1h"\nlog = true\n`);
        expect((await xtban('teardown', '--jail', 'web')).exitCode).toBe(0);
        expect(await save(4)).not.toContain('xtban-web');
      } finally {
        config = full;
        await xtban('teardown');
        await iptables(4, '-D', 'INPUT', '-p', 'tcp', '--dport', '9000', '-j', 'xtban-allow').catch(() => undefined);
        await iptables(4, '-F', 'xtban-allow').catch(() => undefined);
        await iptables(4, '-X', 'xtban-allow').catch(() => undefined);
      }
    });
  });
}

describeKernel('bad input writes nothing', () => {
  let topology: Topology;
  let config: string;
  const xtban = (...args: string[]) => runXtban(topology, ['--config', config, '--state-dir', stateDir(topology), ...args]);

  beforeAll(async () => {
    topology = await createTopology('badinput');
    config = writeConfig('[jails.ssh]\nports = [22]\nwindow = "1h"\n\n[jails.six]\nfamily = "ipv6"\nwindow = "1h"\n');
    expect((await xtban('apply')).exitCode).toBe(0);
  });
  afterAll(async () => topology?.destroy());

  it.each([['1.2.3.256'], ['1.2.3.4/24'], ['1.2.3.4\n+5.6.7.8'], ['fe80::1%eth0'], [''], ['attacker.example.com']])(
    'ban %j exits 2 and leaves every list empty',
    async (address) => {
      const result = await xtban('ban', '192.0.2.50', address);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/address 2: /);
      for (const list of ['xtban-ssh', 'xtban-ssh.v6', 'xtban-six.v6']) expect(await listText(topology, list)).toBe('');
    },
  );

  it.each([['my jail'], ['ssh;reboot'], ['a'.repeat(23)]])('--jail %j exits 2 and writes nothing', async (jail) => {
    const result = await xtban('ban', '192.0.2.50', '--jail', jail);
    expect(result.exitCode).toBe(2);
    expect(await listText(topology, 'xtban-ssh')).toBe('');
  });

  it.each([
    ['window = "0"', 'must be longer than zero'],
    ['window = "-1"', 'is not a duration'],
    ['window = "abc"', 'is not a duration'],
    ['windw = "1h"', 'jails.ssh.windw: unknown key'],
  ])('a config with %j is refused by apply and ban, nothing changes', async (line, message) => {
    const bad = writeConfig(`[jails.ssh]\nports = [22]\n${line}\n`);
    const before = await topology.iptablesSave('fw', 4);
    for (const args of [['apply'], ['ban', '192.0.2.50'], ['config', 'check']]) {
      const result = await runXtban(topology, ['--config', bad, '--state-dir', stateDir(topology), ...args]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(message);
    }
    expect(withoutComments(await topology.iptablesSave('fw', 4))).toBe(withoutComments(before));
    expect(await listText(topology, 'xtban-ssh')).toBe('');
  });

  it('routes by family: an IPv4 address never enters the IPv6-only list', async () => {
    const all = await xtban('ban', '::ffff:192.0.2.60', '2001:db8::60');
    expect(all.exitCode, all.stderr).toBe(0);
    expect(all.stderr).toContain('skipped 192.0.2.60 for six: jail six is IPv6-only');
    expect(await listText(topology, 'xtban-ssh')).toMatch(/^src=192\.0\.2\.60 ttl: 0 /);
    expect(await listText(topology, 'xtban-ssh.v6')).toMatch(/^src=2001:0db8:0000:0000:0000:0000:0000:0060 ttl: 0 /);
    expect(await listText(topology, 'xtban-six.v6')).toMatch(/^src=2001:0db8:0000:0000:0000:0000:0000:0060 ttl: 0 /);
    expect(await listText(topology, 'xtban-six.v6')).not.toContain('192.0.2.60');
    const refused = await xtban('ban', '192.0.2.61', '--jail', 'six');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('192.0.2.61 is IPv4, but jail six takes IPv6 only');
    expect(await listText(topology, 'xtban-six.v6')).not.toContain('192.0.2.61');

    const flushed = await xtban('flush', '--jail', 'ssh');
    expect(flushed.exitCode).toBe(0);
    expect(await listText(topology, 'xtban-ssh')).toBe('');
    expect(await listText(topology, 'xtban-ssh.v6')).toBe('');
    expect(await listText(topology, 'xtban-six.v6')).toContain('src=2001:0db8:0000:0000:0000:0000:0000:0060 ');
  });
});
