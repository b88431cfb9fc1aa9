import { describe, expect, it } from 'vitest';
import { FLEET_TARGET } from '../../src/adapters/ban-store.js';
import type { FleetMessage } from '../../src/adapters/fleet-broker.js';
import { banInJails, unbanInProcess } from '../../src/app/ban-pipeline.js';
import { applyFleetMessages, collectFleetStatus, fleetPosition, publishFleetOutbox, resyncFromLive } from '../../src/app/fleet.js';
import { fleetOutboxNote } from '../../src/app/fleet-outbox.js';
import { parseConfigText } from '../../src/config/parse.js';
import { parseAddress, parseNetwork } from '../../src/core/address.js';
import type { JailConfig } from '../../src/core/domain.js';
import { encodeFleetDecision, fleetSubject, liveSubject, type FleetDecision } from '../../src/core/fleet-message.js';
import { fakeContext } from '../helpers/fake-context.js';

const CONFIG = `[fleet]
name = "h2"
servers = ["nats://198.51.100.1:4222"]

[jails.web]
ports = [443]
tiers = ["1h", "1d"]
fleet = true

[jails.ssh]
window = "1h"
`;

const SAFE = '203.0.113.250';

function setup(config = CONFIG, ipListTot = 100) {
  const parsed = parseConfigText(config, 'fleet.toml');
  const made = fakeContext(parsed, { ipListTot, safelist: [{ network: parseNetwork(SAFE), origin: 'test' }] });
  const jail = (name: string) => parsed.jails.find((candidate) => candidate.name === name) as JailConfig;
  return { ...made, jail };
}

let seq = 0;
function decision(fields: Partial<Omit<FleetDecision, 'address'>> & { address?: string } = {}): FleetDecision {
  seq++;
  return {
    origin: 'h1',
    seq,
    action: 'ban',
    jail: 'web',
    permanent: false,
    tier: 0,
    reason: 'sshd',
    at: Date.now(),
    ...fields,
    address: parseAddress(fields.address ?? '203.0.113.5'),
  };
}

let streamSeq = 0;
const message = (made: FleetDecision, subject = fleetSubject(made.origin)): FleetMessage => ({
  subject,
  data: encodeFleetDecision(made),
  seq: ++streamSeq,
  pending: 0,
});

describe('applying the fleet’s decisions', () => {
  it('bans what another host decided, under its source, in the kernel too, and queues nothing back', () => {
    const { context, kernel, store } = setup();
    const report = applyFleetMessages(context, [message(decision({ address: '203.0.113.5' }))]);
    expect(report).toMatchObject({ banned: 1, unbanned: 0, refused: [] });
    expect(store.get('web', '203.0.113.5')).toMatchObject({ source: 'fleet:h1', reason: 'sshd', permanent: false });
    expect(kernel.entries('xtban-web.t0')).toContain('203.0.113.5');
    expect(store.outboxSizes().get(FLEET_TARGET) ?? 0).toBe(0);
    expect(fleetPosition(context)).toBe(report.position);
  });

  it('refuses a safelisted address, a hostile subject and an unknown jail, counts them, and writes nothing', () => {
    const { context, kernel, store } = setup();
    const before = kernel.entries('xtban-web.t0')?.length ?? 0;
    const spoofed = decision({ origin: 'h3', address: '203.0.113.6' });
    const report = applyFleetMessages(context, [
      message(decision({ address: SAFE })),
      message(spoofed, fleetSubject('h1')),
      message(decision({ jail: 'ssh', address: '203.0.113.7' })),
      { subject: fleetSubject('h1'), data: new TextEncoder().encode('{"v":1,'), seq: ++streamSeq, pending: 0 },
      message(decision({ address: '203.0.113.8' }), liveSubject({ origin: 'h1', jail: 'web', address: parseAddress('203.0.113.9') })),
    ]);
    expect(report.refused.map((refusal) => refusal.reason)).toEqual(['safelisted', 'spoofed-origin', 'unknown-jail', 'malformed', 'malformed']);
    expect(report.banned).toBe(0);
    expect(store.open()).toEqual([]);
    expect(kernel.entries('xtban-web.t0')?.length ?? 0).toBe(before);
    // The position moved past them: a refused message is not read again.
    expect(fleetPosition(context)).toBe(streamSeq);
    expect(collectFleetStatus(context, undefined)?.refused).toEqual({ safelisted: 1, 'spoofed-origin': 1, 'unknown-jail': 1, malformed: 2 });
  });

  it('passes over its own decisions coming back, without counting them', () => {
    const { context, store } = setup();
    const report = applyFleetMessages(context, [message(decision({ origin: 'h2', address: '203.0.113.10' }))]);
    expect(report).toMatchObject({ banned: 0, refused: [] });
    expect(store.open()).toEqual([]);
  });

  it('keeps the order of a ban and an unban of one address in one batch, and lifts the kernel entry', () => {
    const { context, kernel, store } = setup();
    applyFleetMessages(context, [
      message(decision({ address: '203.0.113.11' })),
      message(decision({ origin: 'h3', action: 'unban', address: '203.0.113.11' })),
      message(decision({ address: '203.0.113.12' })),
    ]);
    expect(store.get('web', '203.0.113.11')).toMatchObject({ endedAt: expect.any(Number), endReason: 'unban' });
    expect(kernel.entries('xtban-web.t0')).not.toContain('203.0.113.11');
    expect(kernel.entries('xtban-web.t0')).toContain('203.0.113.12');
    expect(store.outboxSizes().get(FLEET_TARGET) ?? 0).toBe(0);
  });

  it("starts a ban at its origin's tier, within this jail's tiers", () => {
    const { context, store } = setup();
    applyFleetMessages(context, [message(decision({ address: '203.0.113.13', tier: 1 })), message(decision({ address: '203.0.113.14', tier: 5 }))]);
    expect(store.get('web', '203.0.113.13')?.tier).toBe(1);
    expect(store.get('web', '203.0.113.14')?.tier).toBe(1);
  });

  it('never lets a received permanent ban take the place of a live ban here; a local one may', () => {
    const config = CONFIG.replace('tiers = ["1h", "1d"]', 'window = "1h"\ncapacity = 2');
    const { context, store, jail } = setup(config, 2);
    const local = { source: 'cli', reason: null, permanent: false };
    banInJails(
      context,
      [jail('web')],
      ['203.0.113.20', '203.0.113.21'].map((text) => ({ jail: 'web', address: parseAddress(text) })),
      local,
    );
    applyFleetMessages(context, [message(decision({ address: '203.0.113.22', permanent: true }))]);
    expect(store.events('web', 10).map((event) => event.action)).toContain('unplaced');
    expect(context.lists.readNow('xtban-web')).not.toContain('203.0.113.22');
    banInJails(context, [jail('web')], [{ jail: 'web', address: parseAddress('203.0.113.23') }], { ...local, permanent: true });
    expect(context.lists.readNow('xtban-web')).toContain('203.0.113.23');
  });
});

describe('room for this host’s own bans', () => {
  it('leaves the last tenth of a list to local bans however many bans the fleet sends, and restore keeps it so', async () => {
    const config = CONFIG.replace('tiers = ["1h", "1d"]', 'window = "1h"\nfamily = "ipv4"\ncapacity = 10');
    const { context, store, jail, kernel } = setup(config, 10);
    const flood = Array.from({ length: 12 }, (_, index) => message(decision({ origin: 'h9', address: `198.51.100.${index + 1}` })));
    expect(applyFleetMessages(context, flood).banned).toBe(12);
    // Nine placed, one entry left free; the other three are kept in the store, not placed.
    expect(kernel.entries('xtban-web')?.length).toBe(9);
    expect(store.open('web').length).toBe(12);
    const local = banInJails(context, [jail('web')], [{ jail: 'web', address: parseAddress('203.0.113.80') }], {
      source: 'cli',
      reason: null,
      permanent: false,
    });
    expect(local.placements.get('web 203.0.113.80')?.kind).toBe('placed');
    expect(kernel.entries('xtban-web')).toContain('203.0.113.80');
    // After a reboot (lists emptied), restore puts this host's ban back first and the fleet's in what is
    // left of the nine tenths: one entry is free again for the next local ban.
    kernel.write('xtban-web', '/');
    const { restoreBans } = await import('../../src/app/restore.js');
    await restoreBans(context, context.config.jails);
    expect(kernel.entries('xtban-web')).toContain('203.0.113.80');
    expect(kernel.entries('xtban-web')?.length).toBe(9);
  });
});

describe('telling the fleet', () => {
  it('queues the bans and unbans of shared jails with their permanence, tier and reason; nothing of others', () => {
    const { context, store, jail } = setup();
    banInJails(
      context,
      [jail('web'), jail('ssh')],
      [
        { jail: 'web', address: parseAddress('203.0.113.30') },
        { jail: 'ssh', address: parseAddress('203.0.113.31') },
      ],
      { source: 'cli', reason: 'scanner', permanent: true },
    );
    unbanInProcess(context, jail('web'), [parseAddress('203.0.113.30')], 'cli');
    unbanInProcess(context, jail('ssh'), [parseAddress('203.0.113.31')], 'cli');
    expect(
      store.pending(FLEET_TARGET, 10).map(({ verb, jail: name, address, permanent, tier, reason }) => ({ verb, name, address, permanent, tier, reason })),
    ).toEqual([
      { verb: 'ban', name: 'web', address: '203.0.113.30', permanent: true, tier: 0, reason: 'scanner' },
      { verb: 'unban', name: 'web', address: '203.0.113.30', permanent: false, tier: 0, reason: null },
    ]);
  });

  it('queues nothing for a refresh of a live ban, but a ban made permanent is told', () => {
    const { context, store, jail } = setup();
    const target = [{ jail: 'web', address: parseAddress('203.0.113.32') }];
    banInJails(context, [jail('web')], target, { source: 'cli', reason: null, permanent: false });
    banInJails(context, [jail('web')], target, { source: 'cli', reason: null, permanent: false });
    banInJails(context, [jail('web')], target, { source: 'cli', reason: null, permanent: true });
    expect(store.pending(FLEET_TARGET, 10).map((item) => item.permanent)).toEqual([false, true]);
  });

  it('publishes in order, stops at a failure with it and every later one kept, and never has one address in flight twice', async () => {
    const { context, store, jail } = setup();
    const addresses = ['203.0.113.40', '203.0.113.41', '203.0.113.42'];
    banInJails(
      context,
      [jail('web')],
      addresses.map((text) => ({ jail: 'web', address: parseAddress(text) })),
      { source: 'cli', reason: null, permanent: false },
    );
    unbanInProcess(context, jail('web'), [parseAddress('203.0.113.41')], 'cli');
    const inFlight = new Set<string>();
    const published: string[] = [];
    let failOn: string | undefined = '203.0.113.42';
    const publish = async (made: FleetDecision) => {
      const key = made.address.text;
      expect(inFlight.has(key)).toBe(false);
      inFlight.add(key);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight.delete(key);
      if (key === failOn) throw new Error('no responders');
      published.push(`${made.action} ${key} #${made.seq}`);
    };
    const first = await publishFleetOutbox(context, publish);
    expect(first).toMatchObject({ failure: 'no responders', left: 2 });
    expect(published.map((line) => line.replace(/ #\d+$/, ''))).toEqual(['ban 203.0.113.40', 'ban 203.0.113.41']);
    failOn = undefined;
    const second = await publishFleetOutbox(context, publish);
    expect(second).toMatchObject({ published: 2, left: 0, failure: undefined });
    expect(published.slice(2).map((line) => line.replace(/ #\d+$/, ''))).toEqual(['ban 203.0.113.42', 'unban 203.0.113.41']);
    // Each decision's seq is its outbox seq: rising, so that (origin, seq) names one decision.
    const seqs = published.map((line) => Number(line.split('#')[1]));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(store.outboxSizes().get(FLEET_TARGET) ?? 0).toBe(0);
  });
});

describe('resyncing from the live bans', () => {
  it('applies the newest decision of each address, leaves bans that ran out, keeps permanent ones, and goes on from the stream', () => {
    const { context, store } = setup();
    const hour = 3_600_000;
    const live = (made: FleetDecision, streamSequence: number): FleetMessage => ({ ...message(made, liveSubject(made)), seq: streamSequence });
    const report = resyncFromLive(
      context,
      [
        live(decision({ origin: 'h3', action: 'unban', address: '203.0.113.50' }), 9),
        live(decision({ origin: 'h1', address: '203.0.113.50' }), 3),
        live(decision({ origin: 'h1', address: '203.0.113.51', at: Date.now() - 2 * hour }), 4),
        live(decision({ origin: 'h1', address: '203.0.113.52', at: Date.now() - 30 * 24 * hour, permanent: true }), 5),
        live(decision({ origin: 'h1', address: '203.0.113.53' }), 6),
        live(decision({ origin: 'h1', address: SAFE }), 7),
      ],
      42,
    );
    expect(report.banned).toBe(2);
    expect(store.get('web', '203.0.113.50')).toBeUndefined();
    expect(store.get('web', '203.0.113.51')).toBeUndefined();
    expect(store.get('web', '203.0.113.52')).toMatchObject({ permanent: true, endedAt: null });
    expect(store.get('web', '203.0.113.53')).toMatchObject({ endedAt: null });
    expect(report.refused.map((refusal) => refusal.reason)).toEqual(['safelisted']);
    expect(fleetPosition(context)).toBe(42);
    expect(collectFleetStatus(context, undefined)).toMatchObject({ resyncs: 1, position: 42, outbox: 0 });
  });
});

describe('fleet status', () => {
  it('says the lag from the daemon’s view, and each origin’s last decision', () => {
    const { context } = setup();
    applyFleetMessages(context, [message(decision({ origin: 'h1', address: '203.0.113.60' })), message(decision({ origin: 'h5', address: '203.0.113.61' }))]);
    const position = fleetPosition(context);
    const status = collectFleetStatus(context, {
      connected: true,
      server: '198.51.100.1:4222',
      streamFirst: 1,
      streamLast: position + 7,
      retentionSeconds: 60,
      lastError: undefined,
      updatedAt: Date.now(),
    });
    expect(status).toMatchObject({ name: 'h2', sharedJails: ['web'], lag: 7, retentionShort: true });
    expect(status?.origins.map((origin) => [origin.origin, origin.applied])).toEqual([
      ['h1', 1],
      ['h5', 1],
    ]);
    expect(collectFleetStatus(setup(CONFIG.slice(CONFIG.indexOf('[jails.web]')).replace('fleet = true', '')).context, undefined)).toBeUndefined();
  });
});

describe('decisions that only wait', () => {
  it('are said by a command when no daemon runs to publish them, and not otherwise', () => {
    const { context, jail } = setup();
    expect(fleetOutboxNote(context)).toBeUndefined();
    banInJails(context, [jail('ssh')], [{ jail: 'ssh', address: parseAddress('203.0.113.70') }], { source: 'cli', reason: null, permanent: false });
    expect(fleetOutboxNote(context)).toBeUndefined();
    banInJails(context, [jail('web')], [{ jail: 'web', address: parseAddress('203.0.113.71') }], { source: 'cli', reason: null, permanent: false });
    expect(fleetOutboxNote(context)).toMatch(/^1 decision\(s\) wait in the outbox for the fleet: `xtban daemon` publishes them/);
  });
});
