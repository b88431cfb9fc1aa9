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
