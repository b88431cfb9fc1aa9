import { describe, expect, it } from 'vitest';
import { loadSafelist, ownAddresses } from '../../src/adapters/safelist-source.js';
import { XtbanError } from '../../src/core/errors.js';

const fixture = (name: string) => new URL(`../../fixtures/safelist/${name}`, import.meta.url).pathname;

describe('loadSafelist', () => {
  it('joins config addresses, files and, by default, loopback and own addresses', async () => {
    const safelist = await loadSafelist({ addresses: ['203.0.113.0/24'], files: [fixture('good.txt')], ownAddresses: true }, 'x.toml');
    const origins = safelist.entries.map((entry) => entry.origin);
    expect(origins[0]).toBe('x.toml safelist.addresses[0]');
    expect(origins).toContain(`${fixture('good.txt')}:2`);
    expect(origins).toContain(`${fixture('good.txt')}:4`);
    expect(origins).toContain('loopback');
    expect(safelist.entries.some((entry) => entry.network.address === '127.0.0.0' && entry.network.prefix === 8)).toBe(true);
  });

  it('leaves own addresses out when turned off', async () => {
    const safelist = await loadSafelist({ addresses: [], files: [], ownAddresses: false }, 'x.toml');
    expect(safelist.entries).toEqual([]);
    expect(ownAddresses().length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a broken or missing file instead of treating it as empty', async () => {
    await expect(loadSafelist({ addresses: [], files: [fixture('broken.txt')], ownAddresses: false }, 'x.toml')).rejects.toThrow(`${fixture('broken.txt')}:2`);
    const missing = await loadSafelist({ addresses: [], files: ['/nonexistent/safe.txt'], ownAddresses: false }, 'x.toml').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(XtbanError);
    expect((missing as XtbanError).exitCode).toBe(2);
    expect((missing as XtbanError).message).toBe('safelist file /nonexistent/safe.txt cannot be read (ENOENT)');
  });
});
