import { describe, expect, it } from 'vitest';
import { admitAddress } from '../../src/cli/ban-service.js';
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
