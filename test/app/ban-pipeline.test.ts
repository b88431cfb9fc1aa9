import { describe, expect, it } from 'vitest';
import { admitAddress, coveredAddresses } from '../../src/app/ban-pipeline.js';
import type { KernelContext } from '../../src/cli/context.js';
import { loadConfig } from '../../src/config/load.js';
import { parseAddress } from '../../src/core/address.js';
import { scratchDir } from '../helpers/scratch.js';

const example = new URL('../../fixtures/config/example.toml', import.meta.url).pathname;

describe('admitAddress (the daemon, serve)', () => {
  it('refuses what no host sends from, whatever a log line or a request says', async () => {
    const config = await loadConfig(example, scratchDir('xtban-admit-'));
    const jail = config.jails.find((candidate) => candidate.name === 'ssh');
    if (!jail) throw new Error('no ssh jail in the example');
    const context = { safelist: { entries: [] } } as unknown as KernelContext;
    for (const text of ['0.0.0.0', '::', '255.255.255.255', '::ffff:0.0.0.0']) {
      expect(admitAddress(context, jail, parseAddress(text)), text).toEqual({ refused: expect.stringMatching(/no host sends from/) as unknown });
    }
    expect(admitAddress(context, jail, parseAddress('192.0.2.7'))).toEqual({ address: { family: 4, text: '192.0.2.7' } });
  });
});

describe('coveredAddresses', () => {
  it('ends the bans made under a longer mask that fall in the network being unbanned, and only those', async () => {
    const { parseConfigText } = await import('../../src/config/parse.js');
    const config = parseConfigText('[jails.ssh]\nmask = { ipv4 = 24 }\n', 'm.toml');
    const jail = config.jails[0];
    if (!jail) throw new Error('no jail');
    const open = () => [
      { family: 4 as const, address: '198.51.100.7' },
      { family: 4 as const, address: '198.51.100.0' },
      { family: 4 as const, address: '198.51.101.7' },
    ];
    expect(coveredAddresses(jail, [{ family: 4, text: '198.51.100.0' }], open).sort()).toEqual(['198.51.100.0', '198.51.100.7']);
    // Full masks: only the address itself, and the store is not even asked.
    const full = parseConfigText('[jails.ssh]\n', 'f.toml').jails[0];
    if (!full) throw new Error('no jail');
    expect(
      coveredAddresses(full, [{ family: 4, text: '198.51.100.7' }], () => {
        throw new Error('asked');
      }),
    ).toEqual(['198.51.100.7']);
  });
});

describe('one pipeline for every path', () => {
  // A context over the kernel fake, for a jail that bans on its central firewalls only.
  async function remoteOnlyWorld() {
    const { parseConfigText } = await import('../../src/config/parse.js');
    const { fakeContext } = await import('../helpers/fake-context.js');
    const config = parseConfigText(
      '[safelist]\nown_addresses = false\n[remotes.fw]\nhost = "fw.example"\n[jails.edge]\nfamily = "ipv4"\nremote = ["fw"]\nremote_only = true\n',
      'r.toml',
    );
    const { context, kernel, store } = fakeContext(config);
    const jail = config.jails[0];
    if (!jail) throw new Error('no jail');
    return { context, kernel, store, jail };
  }

  it("a remote_only jail: a ban and a restore write nothing into this host's lists, an unban and a flush clear them all the same", async () => {
    const { banInProcess, flushJails, unbanInProcess } = await import('../../src/app/ban-pipeline.js');
    const { restoreBans } = await import('../../src/app/restore.js');
    const { context, kernel, store, jail } = await remoteOnlyWorld();
    banInProcess(context, jail, [parseAddress('203.0.113.9')], { source: 'cli', reason: null, permanent: false });
    expect(store.open('edge').map((record) => record.address)).toEqual(['203.0.113.9']);
    expect(kernel.entries('xtban-edge')).toEqual([]);
    // restore used to put remote_only bans into the local list.
    await restoreBans(context, [jail]);
    expect(kernel.entries('xtban-edge')).toEqual([]);
    // An entry left there (by an older xtban) goes with the unban, as it would from any other jail.
    kernel.write('xtban-edge', '+203.0.113.9');
    const { ended } = unbanInProcess(context, jail, [parseAddress('203.0.113.9')], 'cli');
    expect(ended).toHaveLength(1);
    expect(kernel.entries('xtban-edge')).toEqual([]);
    // The flush: one function for the CLI and serve; queued for the central firewall too.
    kernel.write('xtban-edge', '+203.0.113.10');
    const flushed = flushJails(context, [jail], 'cli');
    expect(flushed.outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(kernel.entries('xtban-edge')).toEqual([]);
    expect(store.pending('fw', 10).map((item) => item.verb)).toEqual(['ban', 'unban', 'flush']);
  });
});
