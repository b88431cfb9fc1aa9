// The fleet's NATS adapter against a real nats-server with JetStream on loopback: streams made, decisions
// stored once however often they are published, followed in order from a position, the live bans, and
// a host's credentials that may publish only as itself.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectFleet, DECISIONS_STREAM, type FleetBroker, type FleetMessage } from '../../src/adapters/fleet-broker.js';
import { parseAddress } from '../../src/core/address.js';
import type { FleetConfig } from '../../src/core/domain.js';
import { decodeFleetDecision, type FleetDecision } from '../../src/core/fleet-message.js';
import { fleetAuthorization, FLEET_TEST_PASSWORD } from './helpers/fleet-auth.js';
import { describeKernel } from './helpers/netns.js';
import { startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { sleep, workDir } from './helpers/work.js';

const work = workDir('fleet-broker');
const PORT = 14_322;

function fleetConfig(name: string, url: string, user = name): FleetConfig {
  const passwordFile = join(work, `${user}.password`);
  writeFileSync(passwordFile, `${FLEET_TEST_PASSWORD}\n`, { mode: 0o600 });
  return {
    name,
    servers: [url],
    auth: { kind: 'password', user, passwordFile },
    tls: { ca: undefined, cert: undefined, key: undefined },
    replicas: 1,
    retentionSeconds: 3600,
  };
}

const decision = (origin: string, seq: number, address: string, action: 'ban' | 'unban' = 'ban'): FleetDecision => ({
  origin,
  seq,
  action,
  jail: 'web',
  address: parseAddress(address),
  permanent: false,
  tier: 0,
  reason: null,
  at: Date.now(),
});

describeKernel('fleet broker (real nats-server, JetStream)', () => {
  let server: NatsServer;
  let admin: FleetBroker;
  let web1: FleetBroker;
  let web2: FleetBroker;

  beforeAll(async () => {
    server = await startNatsServer({ dir: join(work, 'nats'), port: PORT, extra: fleetAuthorization(['web1', 'web2']) });
    admin = await connectFleet(fleetConfig('admin', server.url));
    await admin.ensureStreams(3600, 1);
    web1 = await connectFleet(fleetConfig('web1', server.url));
    web2 = await connectFleet(fleetConfig('web2', server.url));
  }, 30_000);

  afterAll(async () => {
    for (const broker of [web1, web2, admin]) await broker?.close();
    await server?.stop();
  });

  it('a host without rights to make streams finds them made, with their retention', async () => {
    const position = await web1.ensureStreams(3600, 1);
    expect(position.maxAgeSeconds).toBe(3600);
    expect(position.last).toBe(0);
  });

  it('stores a decision once however often it is published, and delivers decisions in order from a position', async () => {
    await web1.publish(decision('web1', 1, '203.0.113.1'));
    await web1.publish(decision('web1', 1, '203.0.113.1'));
    await web1.publish(decision('web1', 2, '203.0.113.2'));
    await web2.publish(decision('web2', 1, '198.51.100.7'));
    await web1.publish(decision('web1', 3, '203.0.113.1', 'unban'));
    expect((await web2.position()).last).toBe(4);
    const received: FleetMessage[] = [];
    const follow = await web2.follow(2, async (batch) => {
      received.push(...batch);
    });
    for (let waited = 0; received.length < 3 && waited < 5000; waited += 50) await sleep(50);
    await follow.stop();
    expect(received.map((message) => message.seq)).toEqual([2, 3, 4]);
    const decoded = received.map((message) => decodeFleetDecision(message.subject, message.data, { self: 'web2', jails: new Set(['web']) }));
    expect(decoded.map((result) => (result.ok ? `${result.decision.origin}:${result.decision.seq}` : result.refusal))).toEqual(['web1:2', 'echo', 'web1:3']);
  });

  it('keeps the last decision of each origin and address in the live bans', async () => {
    const { messages, decisionsLast } = await web2.snapshot();
    expect(decisionsLast).toBe(4);
    const decoded = messages.map((message) => decodeFleetDecision(message.subject, message.data, { self: 'nobody', jails: new Set(['web']) }));
    const actions = decoded.map((result) =>
      result.ok ? `${result.decision.origin} ${result.decision.action} ${result.decision.address.text}` : result.refusal,
    );
    expect(actions.sort()).toEqual(['web1 ban 203.0.113.2', 'web1 unban 203.0.113.1', 'web2 ban 198.51.100.7']);
  });

  it('refuses a host publishing as another: its credentials allow its own subjects only', async () => {
    const before = (await admin.position()).last;
    await expect(web2.publish(decision('web1', 99, '192.0.2.66'))).rejects.toThrow();
    expect((await admin.position()).last).toBe(before);
  });

  it('delivers a 1 MB message the server took, and the decisions after it', async () => {
    const { jetstream } = await import('@nats-io/jetstream');
    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: [server.url], user: 'web2', pass: FLEET_TEST_PASSWORD });
    const start = (await web1.position()).last + 1;
    try {
      await jetstream(nc).publish('xtban.fleet.decisions.web2', new Uint8Array(1_000_000).fill(0x7b));
    } finally {
      await nc.close();
    }
    await web2.publish(decision('web2', 50, '198.51.100.50'));
    const received: FleetMessage[] = [];
    const follow = await web1.follow(start, async (batch) => {
      received.push(...batch);
    });
    for (let waited = 0; received.length < 2 && waited < 5000; waited += 50) await sleep(50);
    await follow.stop();
    expect(received.map((message) => message.data.byteLength)).toEqual([1_000_000, expect.any(Number)]);
    const refused = decodeFleetDecision(received[0]?.subject ?? '', received[0]?.data ?? new Uint8Array(), { self: 'web1', jails: new Set(['web']) });
    expect(refused.ok ? 'applied' : refused.refusal).toBe('oversized');
  });

  it('leaves the stream alone when a host tries to purge it', async () => {
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: [server.url], user: 'web2', pass: FLEET_TEST_PASSWORD });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2000, checkAPI: false });
      await expect(jsm.streams.purge(DECISIONS_STREAM)).rejects.toThrow();
      await expect(jsm.streams.delete(DECISIONS_STREAM)).rejects.toThrow();
    } finally {
      await nc.close();
    }
    expect((await admin.position()).last).toBeGreaterThanOrEqual(4);
  });

  it('connects over TLS with a client certificate and an nkey, and keeps trying while either is wrong', async () => {
    const { createUser } = await import('@nats-io/nkeys');
    const tls = join(work, 'tls');
    mkdirSync(tls, { recursive: true });
    const openssl = (...args: string[]) => {
      const result = spawnSync('openssl', args, { cwd: tls, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
    };
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=xtban test CA',
    );
    for (const [name, ext] of [
      ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      ['client', 'extendedKeyUsage=clientAuth'],
    ] as const) {
      openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      writeFileSync(join(tls, `${name}.ext`), `${ext}\n`);
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      );
    }
    const user = createUser();
    const seedFile = join(tls, 'web9.nk');
    writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
    const secure = await startNatsServer({
      dir: join(work, 'nats-tls'),
      port: PORT + 1,
      extra: `tls { cert_file: "${join(tls, 'server.pem')}", key_file: "${join(tls, 'server.key')}", ca_file: "${join(tls, 'ca.pem')}", verify: true }\nauthorization { users: [ { nkey: "${user.getPublicKey()}" } ] }\n`,
    });
    const config: FleetConfig = {
      name: 'web9',
      servers: [`tls://127.0.0.1:${PORT + 1}`],
      auth: { kind: 'nkey', seedFile },
      tls: { ca: join(tls, 'ca.pem'), cert: join(tls, 'client.pem'), key: join(tls, 'client.key') },
      replicas: 1,
      retentionSeconds: 3600,
    };
    try {
      const broker = await connectFleet(config, AbortSignal.timeout(20_000));
      await broker.ensureStreams(3600, 1);
      await broker.publish(decision('web9', 1, '192.0.2.99'));
      expect((await broker.position()).last).toBe(1);
      await broker.close();
      // Without the client certificate, and with another nkey: no connection, and it keeps trying.
      const other = join(tls, 'other.nk');
      writeFileSync(other, `${new TextDecoder().decode(createUser().getSeed())}\n`);
      for (const wrong of [
        { ...config, tls: { ...config.tls, cert: undefined, key: undefined } },
        { ...config, auth: { kind: 'nkey' as const, seedFile: other } },
      ]) {
        const failures: string[] = [];
        const gaveUp = new AbortController();
        let settled = false;
        const attempt = connectFleet(wrong, gaveUp.signal, (error) => failures.push(String(error)));
        attempt.then(
          () => (settled = true),
          () => (settled = true),
        );
        for (let waited = 0; failures.length === 0 && waited < 15_000; waited += 100) await sleep(100);
        expect(failures.length).toBeGreaterThanOrEqual(1);
        await sleep(1500);
        // Still trying: neither connected nor given up.
        expect(settled).toBe(false);
        gaveUp.abort();
        await expect(attempt).rejects.toThrow();
      }
    } finally {
      await secure.stop();
    }
  }, 60_000);
});
