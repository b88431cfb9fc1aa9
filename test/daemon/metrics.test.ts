import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/daemon/metrics.js';

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
