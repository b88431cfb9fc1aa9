// Proves the kernel-test harness itself: namespaces, veth, TCP service, prober, both iptables backends, cleanup.
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopology, describeKernel, iptablesCommands, sweepLeftovers, type Backend, type Family, type TcpServer, type Topology } from './helpers/netns.js';

async function namespaces(): Promise<string[]> {
  const { stdout } = await execa('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

// The host's rulesets for both backends and families, without comments and counters (host traffic moves those).
async function hostRulesets(): Promise<string> {
  const dumps: string[] = [];
  for (const backend of ['nft', 'legacy'] as const) {
    for (const family of [4, 6] as const) {
      const save = iptablesCommands(backend).family(family).save;
      const { stdout } = await execa(save, [], { reject: false });
      const normalised = String(stdout)
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .map((line) => line.replace(/\[\d+:\d+\]/g, '[0:0]'))
        .join('\n');
      dumps.push(`== ${save}\n${normalised}`);
    }
  }
  return dumps.join('\n');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeKernel('netns harness', () => {
  let hostBefore = '';
  let topology: Topology;
  let server: TcpServer;

  beforeAll(async () => {
    hostBefore = await hostRulesets();
    topology = await createTopology('netns');
    server = await topology.startTcpServer(0);
  });

  afterAll(async () => {
    await topology?.destroy();
  });

  const cases: Array<[Backend, Family]> = [
    ['nft', 4],
    ['nft', 6],
    ['legacy', 4],
    ['legacy', 6],
  ];

  for (const [backend, family] of cases) {
    it(`${backend} IPv${family}: open, then DROP → dropped, REJECT → refused, flush → open`, async () => {
      const { iptables } = iptablesCommands(backend).family(family);
      const ipKey = family === 4 ? 'ipv4' : 'ipv6';
      const target = topology.addresses.fw[ipKey];
      const source = topology.addresses.attacker[ipKey];
      const port = String(server.port);
      const rule = (action: string[]): string[] => ['-s', source, '-p', 'tcp', '--dport', port, '-j', ...action];

      try {
        expect(await topology.probe(target, server.port)).toBe('open');

        await topology.execOk('fw', iptables, ['-I', 'INPUT', ...rule(['DROP'])]);
        expect(await topology.iptablesSave('fw', family, backend)).toContain(`--dport ${port} -j DROP`);
        expect(await topology.probe(target, server.port)).toBe('dropped');

        // Over veth, Linux TCP ignores an ICMPv6 error that answers the first SYN (it arrives while connect() still
        // owns the socket: TcpExtLockDroppedIcmps); the client learns of it from the retransmitted SYN after ~1 s.
        await topology.execOk('fw', iptables, ['-R', 'INPUT', '1', ...rule(['REJECT'])]);
        expect(await topology.probe(target, server.port, family === 4 ? 400 : 1500)).toBe('refused');

        await topology.execOk('fw', iptables, ['-R', 'INPUT', '1', ...rule(['REJECT', '--reject-with', 'tcp-reset'])]);
        expect(await topology.probe(target, server.port)).toBe('refused');

        await topology.execOk('fw', iptables, ['-F', 'INPUT']);
        expect(await topology.probe(target, server.port)).toBe('open');
      } finally {
        await topology.exec('fw', iptables, ['-F', 'INPUT']);
      }
    });
  }

  it('sweepLeftovers removes xtb-* namespaces of dead processes only', async () => {
    const finished = execa('true');
    await finished;
    const stale = `xtb-sweep-${finished.pid ?? 999_999}-0-fw`;
    // A benchmark's namespace (bench/run.mjs) whose run died before its exit handler.
    const staleBench = `xtb-bench-${finished.pid ?? 999_999}-bulk1000`;
    await execa('ip', ['netns', 'add', stale]);
    await execa('ip', ['netns', 'add', staleBench]);
    try {
      const removed = await sweepLeftovers();
      expect(removed).toEqual(expect.arrayContaining([stale, staleBench]));
      const left = await namespaces();
      expect(left).not.toContain(stale);
      expect(left).not.toContain(staleBench);
      expect(left).toContain(topology.names.fw);
      expect(left).toContain(topology.names.attacker);
    } finally {
      await execa('ip', ['netns', 'del', stale], { reject: false });
      await execa('ip', ['netns', 'del', staleBench], { reject: false });
    }
  });

  it('destroy() ends servers and probers, deletes the namespaces, is idempotent, and leaves the host ruleset alone', async () => {
    const extra = await createTopology('destroy');
    const extraServer = await extra.startTcpServer(0);
    expect(await extra.probe(extra.addresses.fw.ipv6, extraServer.port)).toBe('open');
    await extra.execOk('fw', iptablesCommands('legacy').iptables, ['-A', 'INPUT', '-p', 'tcp', '-j', 'DROP']);
    expect(await namespaces()).toEqual(expect.arrayContaining([extra.names.fw, extra.names.attacker]));

    await Promise.all([extra.destroy(), extra.destroy()]);
    await extra.destroy();

    const left = await namespaces();
    expect(left).not.toContain(extra.names.fw);
    expect(left).not.toContain(extra.names.attacker);
    expect(extraServer.pid === undefined || !pidAlive(extraServer.pid)).toBe(true);
    await expect(extra.exec('fw', 'true')).rejects.toThrow(/destroyed/);

    expect(await hostRulesets()).toBe(hostBefore);
  });
});
