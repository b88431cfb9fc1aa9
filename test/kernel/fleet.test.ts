// A fleet of five hosts, each a network namespace with its own `xtban daemon`, state directory and
// kernel lists, sharing bans through one real nats-server with JetStream in a hub namespace. Bans are
// proven with real packets from attacker addresses in the hub; what the stores hold is read read-only.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fleetAuthorization } from './helpers/fleet-auth.js';
import { brokerAdmin, makeHost, manyAddresses, SAFE_ADDRESS, SERVICE_PORT, until, type FleetHost } from './helpers/fleet-hosts.js';
import { createFleetTopology, describeKernel, probe, type FleetTopology } from './helpers/netns.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { workDir } from './helpers/work.js';

const work = workDir('fleet');
const HOSTS = 5;
const ATTACKER = '203.0.113.66';
const INNOCENT = '203.0.113.9';
const PERMANENT = '203.0.113.77';

describeKernel('fleet: five hosts share bans through NATS JetStream', () => {
  let topology: FleetTopology;
  let nats: NatsServer;
  let servers: string[];
  const hosts: FleetHost[] = [];
  const host = (index: number) => hosts[index - 1] as FleetHost;
  const others = (index: number) => hosts.filter((_, position) => position !== index - 1);
  const info = async () => (await brokerAdmin(topology.hub, servers, { op: 'info' })) as Record<string, { first: number; last: number }>;

  beforeAll(async () => {
    topology = await createFleetTopology('fleet', HOSTS);
    await topology.addAttackerAddresses([ATTACKER, INNOCENT, PERMANENT, SAFE_ADDRESS]);
    nats = await startNatsServer({
      dir: join(work, 'nats'),
      host: topology.hubAddress,
      port: 4222,
      ns: topology.hub,
      extra: fleetAuthorization(Array.from({ length: HOSTS }, (_, index) => `h${index + 1}`)),
    });
    servers = [nats.url];
    await brokerAdmin(topology.hub, servers, { op: 'streams', maxAge: 3600 });
    for (let index = 1; index <= HOSTS; index++) hosts.push(await makeHost(topology, index, work, { servers, logSource: index === 1 }));
    await Promise.all(hosts.map((each) => each.start()));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(hosts.map((each) => each.stop()));
    await nats?.stop();
    await topology?.destroy();
  }, 60_000);

  const dropped = async (target: FleetHost, from: string) => (await probe(topology.hub, target.address, SERVICE_PORT, 400, from)) === 'dropped';

  it('a ban made on host 1 from its log is enforced with real packets on hosts 2-5 within 1 s', async () => {
    for (const each of hosts) expect(await probe(topology.hub, each.address, SERVICE_PORT, 1000, ATTACKER)).toBe('open');
    appendFileSync(host(1).authLog, `Nov 21 02:33:01 h1 sshd[1201]: Failed password for root from ${ATTACKER} port 52311 ssh2\n`);
    await until('host 1 bans the attacker', () => host(1).bans().has(ATTACKER), 10_000, 5);
    const spread = await Promise.all(others(1).map((each) => until(`${each.name} has the ban`, () => each.bans().get(ATTACKER) === 'fleet:h1', 5000, 5)));
    expect(Math.max(...spread)).toBeLessThan(1000);
    for (const each of hosts) expect(await dropped(each, ATTACKER)).toBe(true);
    for (const each of hosts) expect(await probe(topology.hub, each.address, SERVICE_PORT, 1000, INNOCENT)).toBe('open');
  });

  it('an unban made on host 3 is lifted everywhere, and not sent back', async () => {
    const unbanned = await host(3).xtban('unban', ATTACKER, '--jail', 'web');
    expect(unbanned.exitCode, unbanned.stderr).toBe(0);
    await Promise.all(hosts.map((each) => until(`${each.name} lifts the ban`, () => !each.bans().has(ATTACKER), 5000)));
    // The store ends the ban a moment before the kernel's lists are written: the packets are asked until they pass.
    await Promise.all(
      hosts.map((each) =>
        until(`${each.name} lets the attacker through`, async () => (await probe(topology.hub, each.address, SERVICE_PORT, 1000, ATTACKER)) === 'open', 5000),
      ),
    );
    // h1 applied h3's unban as fleet:h3 and published nothing for it: the stream holds h1's ban and h3's unban.
    expect((await info()).XTBAN_FLEET?.last).toBe(2);
  });

  it('a permanent ban made on host 2 survives the restart of every host, lists emptied as by a reboot', async () => {
    const banned = await host(2).xtban('ban', PERMANENT, '--jail', 'web', '--permanent', '--reason', 'scanner');
    expect(banned.exitCode, banned.stderr).toBe(0);
    await Promise.all(others(2).map((each) => until(`${each.name} has the permanent ban`, () => each.bans().has(PERMANENT), 5000)));
    await Promise.all(hosts.map((each) => each.stop()));
    for (const each of hosts) expect((await each.xtban('teardown')).exitCode).toBe(0);
    for (const each of hosts) expect((await each.xtban('apply')).exitCode).toBe(0);
    await Promise.all(hosts.map((each) => each.start()));
    for (const each of hosts) {
      await until(`${each.name} drops the permanent ban's packets`, () => dropped(each, PERMANENT), 10_000, 50);
    }
  });

  it('a host down catches up on start with every decision it missed, in order, none twice', async () => {
    await host(4).stop();
    const addresses = manyAddresses(1000);
    const makers = [1, 2, 3, 5];
    const mine = new Map(makers.map((index) => [index, addresses.filter((_, position) => position % makers.length === makers.indexOf(index))]));
    for (const [index, list] of mine) {
      for (let start = 0; start < list.length; start += 125) {
        const result = await host(index).xtban('ban', ...list.slice(start, start + 125), '--jail', 'web');
        expect(result.exitCode, result.stderr).toBe(0);
      }
    }
    for (const index of makers) await until(`h${index} has all 1,000`, () => addresses.every((address) => host(index).bans().has(address)), 30_000, 100);
    const before = host(4).banEvents().length;
    const started = Date.now();
    await host(4).start();
    await until('h4 caught up', () => addresses.every((address) => host(4).bans().has(address)), 30_000, 50);
    const caughtUp = Date.now() - started;
    const events = host(4).banEvents().slice(before);
    const received = events.filter((event) => addresses.includes(event.address));
    expect(received.length).toBe(1000);
    expect(new Set(received.map((event) => event.address)).size).toBe(1000);
    expect(received.every((event) => event.action === 'ban')).toBe(true);
    // Per origin, in the order that origin banned them.
    for (const [index, list] of mine) expect(received.filter((event) => event.source === `fleet:h${index}`).map((event) => event.address)).toEqual(list);
    console.log(`h4 caught up on 1,000 missed decisions in ${caughtUp} ms (daemon start included)`);
  }, 120_000);

  it('a host away longer than the stream keeps decisions resyncs from the live bans', async () => {
    await host(4).stop();
    // The administrator shortens the stream's retention; decisions made while h4 is away age out.
    await brokerAdmin(topology.hub, servers, { op: 'retention', maxAge: 2 });
    const late = manyAddresses(50, 5000);
    const banned = await host(5).xtban('ban', ...late.slice(0, 40), '--jail', 'web');
    expect(banned.exitCode).toBe(0);
    const permanent = await host(5).xtban('ban', ...late.slice(40), '--jail', 'web', '--permanent');
    expect(permanent.exitCode).toBe(0);
    await until('h5 published', () => late.every((address) => host(1).bans().has(address)), 10_000);
    const position = Number(JSON.parse((await host(4).xtban('fleet', 'status', '--json')).stdout).position);
    await until('the decisions h4 missed aged out', async () => ((await info()).XTBAN_FLEET?.first ?? 0) > position + 1, 15_000, 200);
    await host(4).start();
    await until('h4 resynced', () => late.every((address) => host(4).bans().has(address)), 20_000, 50).catch((error) => {
      console.log(host(4).output().slice(-5000));
      throw error;
    });
    expect(host(4).output()).toMatch(/resyncing from the live bans/);
    // The unban made before is still an unban after the resync; the permanent ban still holds.
    expect(host(4).bans().has(ATTACKER)).toBe(false);
    expect(host(4).bans().has(PERMANENT)).toBe(true);
    const status = JSON.parse((await host(4).xtban('fleet', 'status', '--json')).stdout);
    expect(status.resyncs).toBe(1);
    await brokerAdmin(topology.hub, servers, { op: 'retention', maxAge: 3600 });
  }, 90_000);

  it('while the broker is down local bans work at once, and every other host gets them when it is back', async () => {
    await nats.stop();
    const offline = manyAddresses(100, 8000);
    const banned = await host(2).xtban('ban', ...offline, '--jail', 'web', '--json');
    expect(banned.exitCode).toBe(0);
    // Enforced locally at once: in h2's store and its kernel lists.
    expect(offline.every((address) => host(2).bans().has(address))).toBe(true);
    const status = JSON.parse((await host(2).xtban('fleet', 'status', '--json')).stdout);
    expect(status.outbox).toBe(100);
    expect(status.daemon.connected).toBe(false);
    await nats.start();
    await Promise.all(others(2).map((each) => until(`${each.name} got the 100`, () => offline.every((address) => each.bans().has(address)), 30_000, 100)));
  }, 90_000);

  it('kill -9 of a daemon while its outbox is full loses nothing acknowledged', async () => {
    const burst = manyAddresses(500, 9000);
    const banned = await host(2).xtban('ban', ...burst, '--jail', 'web');
    expect(banned.exitCode).toBe(0);
    await until('publishing under way', () => burst.some((address) => host(1).bans().has(address)), 5000, 2);
    await host(2).kill();
    await host(2).start();
    await Promise.all(others(2).map((each) => until(`${each.name} got the 500`, () => burst.every((address) => each.bans().has(address)), 30_000, 100))).catch(
      async (error) => {
        for (const each of hosts)
          console.log(
            each.name,
            each
              .output()
              .split('\n')
              .filter((line) => /"level":[45]|notice/.test(line))
              .join('\n'),
            (await each.xtban('fleet', 'status')).stdout,
          );
        throw error;
      },
    );
    const stored = await info();
    // Each decision stored once: JetStream dropped the ones published again after the kill (same id).
    const decisions = host(1)
      .banEvents()
      .filter((event) => burst.includes(event.address));
    expect(decisions.length).toBe(500);
    expect(stored.XTBAN_FLEET?.last).toBeGreaterThan(0);
  }, 90_000);

  it('refuses what a hostile host publishes, counts it, and writes nothing', async () => {
    const publish = (subject: string, data: string | number) =>
      brokerAdmin(topology.hub, servers, { op: 'publish', subject, ...(typeof data === 'number' ? { fill: data } : { data }) }, 'h5');
    const decision = (fields: Record<string, unknown>) =>
      JSON.stringify({
        v: 1,
        origin: 'h5',
        seq: 900_000,
        action: 'ban',
        jail: 'web',
        address: '203.0.113.99',
        permanent: true,
        tier: 0,
        reason: null,
        at: Date.now(),
        ...fields,
      });
    // Publishing as another host: the server's permissions refuse it.
    const spoofed = await publish('xtban.fleet.decisions.h1', decision({ origin: 'h1', address: '203.0.113.98' }));
    expect(spoofed.error).toBeDefined();
    const before = JSON.parse((await host(1).xtban('fleet', 'status', '--json')).stdout).refused as Record<string, number>;
    await publish('xtban.fleet.decisions.h5', decision({ address: SAFE_ADDRESS, seq: 900_001 }));
    await publish('xtban.fleet.decisions.h5', '{"v":1,"origin":"h5", garbage');
    const big = await publish('xtban.fleet.decisions.h5', 1_000_000);
    await publish('xtban.fleet.decisions.h5', decision({ jail: 'nosuchjail', seq: 900_002 }));
    await publish('xtban.fleet.decisions.h5', decision({ origin: 'h2', seq: 900_003, address: '203.0.113.97' }));
    await publish('xtban.fleet.decisions.h5', decision({ address: '0.0.0.0', seq: 900_004 }));
    const grew = (now: Record<string, number>, reason: string) => (now[reason] ?? 0) - (before[reason] ?? 0);
    await until('h1 counted the refusals', async () => {
      const now = JSON.parse((await host(1).xtban('fleet', 'status', '--json')).stdout).refused as Record<string, number>;
      return (
        grew(now, 'safelisted') >= 1 &&
        grew(now, 'malformed') >= 1 &&
        grew(now, 'unknown-jail') >= 1 &&
        grew(now, 'spoofed-origin') >= 1 &&
        grew(now, 'bad-address') >= 1
      );
    });
    // The 1 MB message is under the server's max_payload (1 MiB): JetStream stores it and xtban refuses it.
    expect(big.stored).toBeGreaterThan(0);
    await until(
      'h1 refused the 1 MB message',
      async () => grew(JSON.parse((await host(1).xtban('fleet', 'status', '--json')).stdout).refused, 'oversized') >= 1,
    );
    for (const each of hosts) {
      const bans = each.bans();
      for (const address of [SAFE_ADDRESS, '203.0.113.97', '203.0.113.98', '0.0.0.0']) expect(bans.has(address)).toBe(false);
      expect(await probe(topology.hub, each.address, SERVICE_PORT, 1000, SAFE_ADDRESS)).toBe('open');
    }
  }, 60_000);

  it('fleet status shows the connection, position, lag, origins, outbox and refusals', async () => {
    const result = await host(3).xtban('fleet', 'status', '--json');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const status = JSON.parse(result.stdout);
    expect(status.daemon.connected).toBe(true);
    expect(status.daemon.server).toContain(topology.hubAddress);
    expect(status.lag).toBe(0);
    expect(status.outbox).toBe(0);
    expect(status.origins.map((origin: { origin: string }) => origin.origin)).toEqual(expect.arrayContaining(['h1', 'h2', 'h5']));
    const text = await host(3).xtban('fleet', 'status');
    expect(text.stdout).toMatch(/fleet h3: connected to/);
    expect(text.stdout).toMatch(/ORIGIN/);
  });
});
