import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/duration.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['10m', 600],
    ['1h', 3600],
    ['1d', 86_400],
    ['1w', 604_800],
    ['1h30m', 5400],
    ['3600', 3600],
    [45, 45],
  ])('%j is %d seconds', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  it.each([
    ['0', /longer than zero/],
    [0, /longer than zero/],
    ['-1', /not a duration/],
    [-1, /longer than zero/],
    ['abc', /not a duration/],
    ['1.5h', /not a duration/],
    [1.5, /not a whole number/],
    ['1 h', /not a duration/],
    ['', /not a duration/],
    ['1y', /not a duration/],
    ['400d', /365d maximum/],
  ])('refuses %j', (input, message) => {
    expect(() => parseDuration(input, 'jails.ssh.window')).toThrow(message);
    try {
      parseDuration(input, 'jails.ssh.window');
    } catch (error) {
      expect((error as Error).message.startsWith('jails.ssh.window: ')).toBe(true);
    }
  });

  it('formats compactly', () => {
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(45)).toBe('45s');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(90061)).toBe('1d1h');
    expect(formatDuration(0.4, 'ceil')).toBe('1s');
    expect(formatDuration(5.9, 'floor')).toBe('5s');
  });
});
