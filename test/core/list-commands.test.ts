import { describe, expect, it } from 'vitest';
import { layoutsFor } from '../../src/cli/context.js';
import { parseConfigText } from '../../src/config/parse.js';
import { parseAddress } from '../../src/core/address.js';
import { planBan } from '../../src/core/bans.js';
import { selectJails } from '../../src/core/jail-selection.js';
import { banWrites, routeAddresses, unbanWrites } from '../../src/core/list-commands.js';
import { PlacementPlanner } from '../../src/core/placement.js';

const config = parseConfigText(
  '[jails.ssh]\n[jails.web]\nfamily = "ipv4"\nlist = "web"\nmask = { ipv4 = 24 }\n[jails.six]\nfamily = "ipv6"\ntiers = ["1m", "1h"]\n',
  'lists.toml',
);
const layouts = layoutsFor(config, 100);

describe('routeAddresses', () => {
  it('routes each address by family and masks it per jail', () => {
    const { routed, skipped } = routeAddresses(config.jails, [parseAddress('192.0.2.7'), parseAddress('2001:DB8::7')]);
    expect(routed.map((target) => [target.jail, target.address.text, target.prefix])).toEqual([
      ['ssh', '192.0.2.7', 32],
      ['web', '192.0.2.0', 24],
      ['ssh', '2001:db8::7', 128],
      ['six', '2001:db8::7', 128],
    ]);
    expect(skipped).toEqual([
      { jail: 'six', address: '192.0.2.7', reason: 'jail six is IPv6-only' },
      { jail: 'web', address: '2001:db8::7', reason: 'jail web is IPv4-only' },
    ]);
  });

  it('refuses an address that no selected jail can hold', () => {
    expect(() => routeAddresses(selectJails(config, 'six'), [parseAddress('::ffff:192.0.2.7')])).toThrow('192.0.2.7 is IPv4, but jail six takes IPv6 only');
  });
});

// A planner over empty lists of every jail (or with one address already listed).
function plannerOf(listed?: [string, string]): (jail: string) => PlacementPlanner {
  return (jail) => {
    const layout = layouts.get(jail);
    if (!layout) throw new Error(jail);
    const fill = new Map(layout.slots.map((slot) => [slot.name, new Map(listed && listed[0] === slot.name ? [[listed[1], 5]] : [])]));
    return new PlacementPlanner({ layout, capacity: 100, fill, wordBits: 64, isLiveBan: () => true });
  };
}

describe('banWrites and unbanWrites', () => {
  const request = { jail: 'six', address: '2001:db8::7', family: 6 as const, source: 'cli', reason: null, permanent: false };

  it('writes a new ban into the first tier and a repeat offence into the next, leaving the old tier', () => {
    const first = planBan(undefined, request, [60, 3600], 0);
    expect(banWrites([first], layouts, plannerOf()).writes).toEqual([
      { jail: 'six', list: 'xtban-six.v6.t0', address: '2001:db8::7', command: '+2001:db8::7' },
    ]);
    const again = planBan(first.record, request, [60, 3600], 61_000);
    expect(again.kind).toBe('repeat');
    expect(banWrites([again], layouts, plannerOf(['xtban-six.v6.t0', '2001:db8::7'])).writes).toEqual([
      { jail: 'six', list: 'xtban-six.v6.t1', address: '2001:db8::7', command: '+2001:db8::7' },
      { jail: 'six', list: 'xtban-six.v6.t0', address: '2001:db8::7', command: '-2001:db8::7' },
    ]);
  });

  it('removes an address from every tier on unban', () => {
    const { routed } = routeAddresses(selectJails(config, 'six'), [parseAddress('2001:db8::7')]);
    expect(unbanWrites(routed, layouts).map((write) => `${write.list} ${write.command}`)).toEqual([
      'xtban-six.v6.t0 -2001:db8::7',
      'xtban-six.v6.t1 -2001:db8::7',
    ]);
  });
});
