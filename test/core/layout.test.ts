import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.js';
import { jailLayout, shardCount, slotName } from '../../src/core/layout.js';

describe('layout', () => {
  it('needs one list until capacity passes ip_list_tot, then a power of two of shards that stay at most about 80 % full', () => {
    expect(shardCount(undefined, 100)).toBe(1);
    expect(shardCount(100, 100)).toBe(1);
    // 1,000 bans over lists of 100 filled to 80: 13 lists, so 16.
    expect(shardCount(1000, 100)).toBe(16);
    expect(shardCount(1280, 100)).toBe(16);
    expect(shardCount(1281, 100)).toBe(32);
    expect(shardCount(10_000, 100)).toBe(128);
    expect(shardCount(100_000, 100)).toBe(2048);
    expect(shardCount(1000, 10_000)).toBe(1);
    // No more shards than the prefix has bits to pick them with.
    expect(shardCount(100_000, 100, 8)).toBe(256);
    expect(shardCount(10_000_000, 100, 128)).toBe(65_536);
  });

  it('names lists by family, tier and shard', () => {
    expect(slotName('xtban-ssh', 4, undefined, undefined)).toBe('xtban-ssh');
    expect(slotName('xtban-ssh', 6, 2, 15)).toBe('xtban-ssh.v6.t2.15');
    // A mask shorter than the address is in the name: a list keeps the mask it was made with.
    expect(slotName('xtban-ssh', 4, undefined, undefined, 32)).toBe('xtban-ssh');
    expect(slotName('xtban-ssh', 4, undefined, undefined, 24)).toBe('xtban-ssh.m24');
    expect(slotName('xtban-ssh', 6, 1, 3, 64)).toBe('xtban-ssh.v6.m64.t1.3');
    expect(slotName('xtban-ssh', 6, undefined, undefined, 128)).toBe('xtban-ssh.v6');
    expect(slotName('xtban-ssh', 6, 1, 'spill', 64)).toBe('xtban-ssh.v6.m64.t1.spill');
    const [jail] = parseConfigText('[jails.ssh]\ntiers = ["1h", "1d"]\ncapacity = 250\n', 't.toml').jails;
    if (!jail) throw new Error('config');
    const layout = jailLayout(jail, 100);
    expect(layout.shards).toBe(4);
    expect(layout.bits).toBe(2);
    expect(layout.slots.map((slot) => `${slot.name}:${slot.windowSeconds}${slot.spill ? ':spill' : ''}`)).toEqual([
      'xtban-ssh.t0.0:3600',
      'xtban-ssh.t0.1:3600',
      'xtban-ssh.t0.2:3600',
      'xtban-ssh.t0.3:3600',
      'xtban-ssh.t0.spill:3600:spill',
      'xtban-ssh.t1.0:86400',
      'xtban-ssh.t1.1:86400',
      'xtban-ssh.t1.2:86400',
      'xtban-ssh.t1.3:86400',
      'xtban-ssh.t1.spill:86400:spill',
      'xtban-ssh.v6.t0.0:3600',
      'xtban-ssh.v6.t0.1:3600',
      'xtban-ssh.v6.t0.2:3600',
      'xtban-ssh.v6.t0.3:3600',
      'xtban-ssh.v6.t0.spill:3600:spill',
      'xtban-ssh.v6.t1.0:86400',
      'xtban-ssh.v6.t1.1:86400',
      'xtban-ssh.v6.t1.2:86400',
      'xtban-ssh.v6.t1.3:86400',
      'xtban-ssh.v6.t1.spill:86400:spill',
    ]);
    // One list where one will do: no spill list, no shard number.
    const [small] = parseConfigText('[jails.ssh]\n', 's.toml').jails;
    if (!small) throw new Error('config');
    expect(jailLayout(small, 100).slots.map((slot) => slot.name)).toEqual(['xtban-ssh', 'xtban-ssh.v6']);
  });
});
