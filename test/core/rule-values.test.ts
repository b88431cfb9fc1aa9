import { describe, expect, it } from 'vitest';
import { parseLogPrefix, parsePortSpec, parseRate } from '../../src/core/rule-values.js';

describe('rule values', () => {
  it('renders ports and ranges as iptables does', () => {
    expect(parsePortSpec(22)).toBe('22');
    expect(parsePortSpec('8000-8010')).toBe('8000:8010');
    expect(parsePortSpec('8000:8010')).toBe('8000:8010');
    expect(() => parsePortSpec(0)).toThrow(/outside 1-65535/);
    expect(() => parsePortSpec(65536)).toThrow(/outside 1-65535/);
    expect(() => parsePortSpec('ssh')).toThrow(/not a port number/);
    expect(() => parsePortSpec('10-5')).toThrow(/low to high/);
    expect(() => parsePortSpec(22.5)).toThrow(/not a port number/);
  });

  it('normalises rates to the spelling iptables-save prints', () => {
    expect(parseRate('6/minute')).toBe('6/min');
    expect(parseRate('10/s')).toBe('10/sec');
    expect(parseRate('1/hour')).toBe('1/hour');
    expect(parseRate('2/d')).toBe('2/day');
    expect(() => parseRate('fast')).toThrow(/not a rate/);
    expect(() => parseRate('0/min')).toThrow(/not a rate/);
    expect(() => parseRate('6/year')).toThrow(/not a rate/);
  });

  it('keeps LOG prefixes within the kernel limit and free of quotes', () => {
    expect(parseLogPrefix('xtban ssh: ')).toBe('xtban ssh: ');
    expect(() => parseLogPrefix('x'.repeat(30))).toThrow(/1 to 29 characters/);
    expect(() => parseLogPrefix('a"b')).toThrow(/without quotes/);
    expect(() => parseLogPrefix('a\nb')).toThrow(/printable ASCII/);
    expect(() => parseLogPrefix('')).toThrow(/1 to 29/);
  });
});
