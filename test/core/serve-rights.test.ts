import { describe, expect, it } from 'vitest';
import { entriesToLift, isRemoteSource, keptNote, mayEnd, ownerOf, rightsOf, validateKeyName, verbRefusal } from '../../src/core/serve-rights.js';
import { XtbanError } from '../../src/core/errors.js';

describe('serve rights', () => {
  it("names a key's bans after it, and takes only well-formed key names", () => {
    expect(ownerOf('web1')).toBe('remote:web1');
    expect(ownerOf(undefined)).toBe('remote');
    expect([ownerOf('web1'), 'remote'].every(isRemoteSource)).toBe(true);
    expect(['cli', 'fail2ban', 'journal', 'remotely', 'reaper'].some(isRemoteSource)).toBe(false);
    expect(validateKeyName('edge-2_b')).toBe('edge-2_b');
    for (const bad of ['', 'web 1', '-x', '_x', 'a;b', 'a:b', 'x'.repeat(65), 'ü']) {
      expect(() => validateKeyName(bad), bad).toThrow(XtbanError);
      expect(() => validateKeyName(bad), bad).toThrow(/--key: .* is not a valid key name/);
    }
  });

  it('grants what the config says, and "own" to any other key or none', () => {
    const keys = { ops: 'full', edge: 'ban-only' } as const;
    expect(rightsOf(keys, 'ops')).toBe('full');
    expect(rightsOf(keys, 'edge')).toBe('ban-only');
    expect(rightsOf(keys, 'web1')).toBe('own');
    expect(rightsOf(keys, undefined)).toBe('own');
    // Never a property every object has.
    expect(rightsOf(keys, 'constructor')).toBe('own');
  });

  it('refuses unban and flush to a ban-only key, and nothing else', () => {
    expect(verbRefusal('ban-only', 'unban', 'edge')).toContain('key edge may only ban (rights "ban-only" in [serve.keys.edge]');
    expect(verbRefusal('ban-only', 'flush', 'edge')).toMatch(/^flush is not allowed/);
    for (const verb of ['ban', 'query', 'ping']) expect(verbRefusal('ban-only', verb, 'edge')).toBeUndefined();
    for (const rights of ['own', 'full'] as const)
      for (const verb of ['ban', 'unban', 'flush', 'query']) expect(verbRefusal(rights, verb, 'k')).toBeUndefined();
  });

  it('lets "own" end only the bans its key made, "full" any, "ban-only" none', () => {
    const ban = (source: string) => ({ source });
    expect(mayEnd(ban('remote:web1'), 'own', 'remote:web1')).toBe(true);
    for (const source of ['cli', 'remote', 'remote:web2', 'fail2ban']) expect(mayEnd(ban(source), 'own', 'remote:web1'), source).toBe(false);
    for (const source of ['cli', 'remote:web2']) expect(mayEnd(ban(source), 'full', 'remote:web1')).toBe(true);
    expect(mayEnd(ban('remote:web1'), 'ban-only', 'remote:web1')).toBe(false);
  });

  it('lifts the kernel entries of the bans ended, unless a kept ban shares the entry', () => {
    const mask = { 4: 24, 6: 128 } as const;
    const ended = [
      { family: 4 as const, address: '198.51.100.0' },
      { family: 4 as const, address: '198.51.100.7' },
      { family: 4 as const, address: '203.0.113.0' },
    ];
    const kept = [{ family: 4 as const, address: '203.0.113.9' }];
    expect(entriesToLift(ended, kept, mask)).toEqual([{ family: 4, text: '198.51.100.0' }]);
    expect(entriesToLift([], kept, mask)).toEqual([]);
    expect(entriesToLift([{ family: 6, address: '2001:db8::1' }], [], { 4: 32, 6: 128 })).toEqual([{ family: 6, text: '2001:db8::1' }]);
  });

  it('names what it kept, briefly', () => {
    expect(keptNote([])).toBe('');
    expect(keptNote([{ address: '192.0.2.1' }])).toBe('; 1 not ours, kept: 192.0.2.1');
    const many = Array.from({ length: 20 }, (_, i) => ({ address: `192.0.2.${i}` }));
    expect(keptNote(many)).toMatch(/^; 20 not ours, kept: 192\.0\.2\.0 .* 192\.0\.2\.15 \.\.\.$/);
  });
});
