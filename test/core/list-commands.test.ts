import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { parseAddress } from '../../src/core/address.js';
import { selectJails } from '../../src/core/jail-selection.js';
import { planListWrites } from '../../src/core/list-commands.js';

const config = parseConfigText('[jails.ssh]\n[jails.web]\nfamily = "ipv4"\nlist = "web"\n[jails.six]\nfamily = "ipv6"\n', 'lists.toml');

describe('planListWrites', () => {
  it('routes each address by family and never puts IPv4 into an IPv6-only list', () => {
    const plan = planListWrites(config.jails, [parseAddress('192.0.2.7'), parseAddress('2001:DB8::7')], '+');
    expect(plan.writes).toEqual([
      { jail: 'ssh', list: 'xtban-ssh', address: '192.0.2.7', command: '+192.0.2.7' },
      { jail: 'web', list: 'web', address: '192.0.2.7', command: '+192.0.2.7' },
      { jail: 'ssh', list: 'xtban-ssh.v6', address: '2001:db8::7', command: '+2001:db8::7' },
      { jail: 'six', list: 'xtban-six.v6', address: '2001:db8::7', command: '+2001:db8::7' },
    ]);
    expect(plan.skipped).toEqual([
      { jail: 'six', address: '192.0.2.7', reason: 'jail six is IPv6-only' },
      { jail: 'web', address: '2001:db8::7', reason: 'jail web is IPv4-only' },
    ]);
  });

  it('refuses an address that no selected jail can hold', () => {
    expect(() => planListWrites(selectJails(config, 'six'), [parseAddress('::ffff:192.0.2.7')], '+')).toThrow('192.0.2.7 is IPv4, but jail six takes IPv6 only');
  });

  it('writes -ADDR for unbans', () => {
    expect(planListWrites(selectJails(config, 'web'), [parseAddress('198.51.100.1')], '-').writes[0]?.command).toBe('-198.51.100.1');
  });
});

describe('selectJails', () => {
  it('validates the name before looking it up and lists the known jails', () => {
    expect(() => selectJails(config, 'ssh;x')).toThrow(/not a valid jail name/);
    expect(() => selectJails(config, 'nope')).toThrow(/no jail named "nope"/);
    expect(selectJails(config, undefined)).toHaveLength(3);
  });
});
