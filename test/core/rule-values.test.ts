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

  it("gives a rate in iptables-save's own spelling, so that apply converges, and refuses what iptables refuses", () => {
    // Measured with iptables 1.8.9: what iptables-save prints after -m limit --limit RATE.
    for (const [given, saved] of [
      ['60/min', '1/sec'],
      ['120/min', '2/sec'],
      ['3600/hour', '1/sec'],
      ['60/hour', '1/min'],
      ['24/day', '1/hour'],
      ['7/min', '7/min'],
      ['13/hour', '13/hour'],
      ['25/day', '25/day'],
      ['10000/sec', '10000/sec'],
      ['1440/day', '1/min'],
    ]) {
      expect(parseRate(given ?? ''), given).toBe(saved);
    }
    expect(() => parseRate('20000/sec')).toThrow(/faster than the 10000\/sec/);
    expect(() => parseRate('999999/min')).toThrow(/faster than/);
  });

  it('keeps LOG prefixes within the kernel limit and free of quotes', () => {
    expect(parseLogPrefix('xtban ssh: ')).toBe('xtban ssh: ');
    expect(() => parseLogPrefix('x'.repeat(30))).toThrow(/1 to 29 characters/);
    expect(() => parseLogPrefix('a"b')).toThrow(/without quotes/);
    expect(() => parseLogPrefix('a\nb')).toThrow(/printable ASCII/);
    expect(() => parseLogPrefix('')).toThrow(/1 to 29/);
  });
});
