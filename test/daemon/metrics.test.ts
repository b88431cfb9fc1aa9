import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/daemon/metrics.js';

describe('remote metrics', () => {
  it('gives every target its queue and its dead letters, with HELP, and drops what is gone', async () => {
    const metrics = createMetrics();
    metrics.observeRemotes(
      ['fw', 'fw2'],
      new Map([['fw', 3]]),
      new Map([
        ['fw2', 2],
        ['old', 1],
      ]),
    );
    metrics.deadLettered.inc({ target: 'fw2' }, 2);
    const text = await metrics.registry.metrics();
    expect(text).toContain('# HELP xtban_remote_dead_letters Requests a central firewall refused for good');
    expect(text).toContain('xtban_remote_dead_letters{target="fw"} 0');
    expect(text).toContain('xtban_remote_dead_letters{target="fw2"} 2');
    expect(text).toContain('xtban_remote_dead_letters{target="old"} 1');
    expect(text).toContain('xtban_remote_queued_requests{target="fw"} 3');
    expect(text).toContain('xtban_remote_dead_lettered_total{target="fw2"} 2');
    metrics.observeRemotes(['fw'], new Map(), new Map());
    const after = await metrics.registry.metrics();
    expect(after).not.toContain('target="old"');
    expect(after).toContain('xtban_remote_dead_letters{target="fw"} 0');
  });
});

describe('daemon metrics', () => {
  it('count messages too long to match, per jail and source', async () => {
    const metrics = createMetrics();
    metrics.tooLong.inc({ jail: 'ssh', source: 'ssh:0:file:/var/log/auth.log' });
    metrics.tooLong.inc({ jail: 'ssh', source: 'ssh:0:file:/var/log/auth.log' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('# HELP xtban_source_lines_too_long_total Messages from a log source longer than 4096 characters, not matched');
    expect(text).toContain('# TYPE xtban_source_lines_too_long_total counter');
    expect(text).toContain('xtban_source_lines_too_long_total{jail="ssh",source="ssh:0:file:/var/log/auth.log"} 2');
  });
});

describe('fleet metrics', () => {
  it('sets connection, position, lag, outbox, each origin and the refusals, and drops an origin that is gone', async () => {
    const metrics = createMetrics();
    const status = {
      name: 'h2',
      servers: ['nats://198.51.100.1:4222'],
      sharedJails: ['web'],
      daemon: { connected: true, server: '198.51.100.1:4222', streamFirst: 1, streamLast: 50, retentionSeconds: 3600, lastError: undefined, updatedAt: 0 },
      position: 43,
      lag: 7,
      outbox: 2,
      origins: [{ origin: 'h1', seq: 12, at: 1_000, receivedAt: 2_000_000, applied: 12 }],
      refused: { safelisted: 1, malformed: 3 },
      resyncs: 1,
      retentionShort: false,
    };
    metrics.observeFleet(status, 3_000_000);
    metrics.fleetApplied.inc({ action: 'ban' }, 5);
    const text = await metrics.registry.metrics();
    for (const line of [
      'xtban_fleet_connected 1',
      'xtban_fleet_position 43',
      'xtban_fleet_stream_last_sequence 50',
      'xtban_fleet_lag_decisions 7',
      'xtban_fleet_outbox_decisions 2',
      'xtban_fleet_origin_last_sequence{origin="h1"} 12',
      'xtban_fleet_origin_last_received_timestamp_seconds{origin="h1"} 2000',
      'xtban_fleet_refused_total{reason="malformed"} 3',
      'xtban_fleet_refused_total{reason="safelisted"} 1',
      'xtban_fleet_resyncs_total 1',
      'xtban_fleet_applied_total{action="ban"} 5',
    ])
      expect(text).toContain(line);
    metrics.observeFleet({ ...status, daemon: undefined, lag: undefined, origins: [] }, 3_000_000);
    const after = await metrics.registry.metrics();
    expect(after).toContain('xtban_fleet_connected 0');
    expect(after).not.toContain('origin="h1"');
  });
});
