import { describe, expect, it } from 'vitest';
import { chainName, validateJailName, validateListName } from '../../src/core/names.js';

describe('jail names', () => {
  it('accepts names that make a valid chain of at most 28 characters', () => {
    expect(validateJailName('ssh')).toBe('ssh');
    expect(validateJailName('a'.repeat(22))).toBe('a'.repeat(22));
    expect(chainName('a'.repeat(22))).toHaveLength(28);
  });

  it.each([
    ['my jail', /not a valid jail name/],
    ['ssh;reboot', /not a valid jail name/],
    ['a'.repeat(23), /at most 22 fit the 28-character iptables chain name/],
    ['', /empty jail name/],
    ['-ssh', /not a valid jail name/],
    ['ssh/../x', /not a valid jail name/],
    ['ssh\n', /not a valid jail name/],
  ])('refuses %j', (name, message) => {
    expect(() => validateJailName(name)).toThrow(message);
  });
});

describe('list names', () => {
  it('accepts dots for shards and refuses path tricks', () => {
    expect(validateListName('xtban-ssh.0')).toBe('xtban-ssh.0');
    expect(() => validateListName('..')).toThrow(/not a valid list name/);
    expect(() => validateListName('a/b')).toThrow(/not a valid list name/);
    expect(() => validateListName('x'.repeat(200))).toThrow(/longer than 199/);
  });
});
