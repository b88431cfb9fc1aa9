// A 3-node JetStream cluster (an R3 stream) in the hub namespace, three hosts each knowing every node:
// one node is killed in the middle of a burst of 1,000 bans, and every host still ends with all 1,000.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fleetAuthorization } from './helpers/fleet-auth.js';
import { brokerAdmin, makeHost, manyAddresses, until, type FleetHost } from './helpers/fleet-hosts.js';
import { createFleetTopology, describeKernel, type FleetTopology } from './helpers/netns.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { workDir } from './helpers/work.js';

const work = workDir('fleet-cluster');
const NODES = [
  { name: 'n1', port: 4222, route: 6222 },
  { name: 'n2', port: 4223, route: 6223 },
  { name: 'n3', port: 4224, route: 6224 },
];

describeKernel('fleet: a 3-node JetStream cluster loses a node during a burst', () => {
  let topology: FleetTopology;
  const nodes: NatsServer[] = [];
  const hosts: FleetHost[] = [];
  let servers: string[];

  beforeAll(async () => {
    topology = await createFleetTopology('fleetcluster', 3);
    const routes = NODES.map((node) => `nats://${topology.hubAddress}:${node.route}`);
    const started = await Promise.all(
      NODES.map((node) =>
        startNatsServer({
          dir: join(work, node.name),
          host: topology.hubAddress,
          port: node.port,
          ns: topology.hub,
          cluster: { name: node.name, port: node.route, routes: routes.filter((route) => !route.endsWith(`:${node.route}`)) },
          extra: fleetAuthorization(['h1', 'h2', 'h3']),
        }),
      ),
    );
    nodes.push(...started);
    servers = nodes.map((node) => node.url);
    // The cluster elects its JetStream leader in a few seconds: until then, making a stream fails.
    await until(
      'the cluster makes the R3 streams',
      async () => {
        try {
          await brokerAdmin(topology.hub, servers, { op: 'streams', maxAge: 3600, replicas: 3 });
          return true;
        } catch {
          return false;
        }
      },
      60_000,
      1000,
    );
    for (let index = 1; index <= 3; index++) hosts.push(await makeHost(topology, index, work, { servers }));
    await Promise.all(hosts.map((host) => host.start()));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(hosts.map((host) => host.stop()));
    await Promise.all(nodes.map((node) => node.stop()));
    await topology?.destroy();
  }, 60_000);

  it('every host ends with all 1,000 bans, each once', async () => {
    const addresses = manyAddresses(1000, 20_000);
    const [h1, h2, h3] = hosts as [FleetHost, FleetHost, FleetHost];
    const makers = [h1, h2, h3];
    const bans = makers.map((host, index) => ({ host, list: addresses.filter((_, position) => position % 3 === index) }));
    let killed = false;
    await Promise.all(
      bans.map(async ({ host, list }) => {
        for (let start = 0; start < list.length; start += 50) {
          const result = await host.xtban('ban', ...list.slice(start, start + 50), '--jail', 'web');
          expect(result.exitCode, result.stderr).toBe(0);
          // Halfway through the burst, the second node dies (it may be the streams' leader).
          if (!killed && start >= list.length / 2) {
            killed = true;
            await nodes[1]?.kill();
          }
        }
      }),
    );
    for (const host of hosts) {
      await until(`${host.name} has all 1,000`, () => addresses.every((address) => host.bans().has(address)), 90_000, 200).catch((error) => {
        console.log(
          host.name,
          host
            .output()
            .split('\n')
            .filter((line) => /"level":[45]/.test(line))
            .slice(-20)
            .join('\n'),
        );
        throw error;
      });
      const events = host.banEvents().filter((event) => addresses.includes(event.address));
      expect(events.length).toBe(1000);
    }
    const info = (await brokerAdmin(topology.hub, [servers[0] as string, servers[2] as string], { op: 'info' })) as Record<string, { messages: number }>;
    // Each decision stored once: a decision published again after the node died kept its id.
    expect(info.XTBAN_FLEET?.messages).toBe(1000);
  }, 240_000);
});
