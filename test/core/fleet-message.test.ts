// The fleet's wire format as a hostile publisher sees it: every field it controls, every way to bend the
// bytes. A decision is applied only when its parsed form says exactly one bannable address, for a jail
// that shares here, from the host whose subject it came on, and not from this host.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/core/address.js';
import {
  decodeFleetDecision,
  encodeFleetDecision,
  type FleetDecision,
  fleetSubject,
  liveSubject,
  MAX_FLEET_MESSAGE_BYTES,
  validateHostName,
} from '../../src/core/fleet-message.js';

const here = { self: 'web2', jails: new Set(['ssh', 'web']) };
const decision: FleetDecision = {
  origin: 'web1',
  seq: 41,
  action: 'ban',
  jail: 'ssh',
  address: { family: 4, text: '192.0.2.7' },
  permanent: false,
  tier: 0,
  reason: 'sshd: 5 failures',
  at: 1_796_000_000_000,
};
const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const wire = (changes: Record<string, unknown> = {}) => ({ ...JSON.parse(new TextDecoder().decode(encodeFleetDecision(decision))), ...changes });
const decode = (value: unknown, subject = fleetSubject('web1'), context = here) => decodeFleetDecision(subject, bytes(value), context);

describe('fleet decisions on the wire', () => {
  it('reads back what its origin wrote, on the origin subject', () => {
    expect(fleetSubject('web1')).toBe('xtban.fleet.decisions.web1');
    expect(decodeFleetDecision(fleetSubject('web1'), encodeFleetDecision(decision), here)).toEqual({ ok: true, decision });
    const v6 = { ...decision, address: { family: 6 as const, text: '2001:db8::9' }, action: 'unban' as const, reason: null };
    expect(decodeFleetDecision(fleetSubject('web1'), encodeFleetDecision(v6), here)).toEqual({ ok: true, decision: v6 });
  });

  it('takes an address in any spelling, and applies its canonical form', () => {
    const result = decode(wire({ address: '2001:DB8:0:0::9' }));
    expect(result.ok && result.decision.address).toEqual({ family: 6, text: '2001:db8::9' });
    const mapped = decode(wire({ address: '::ffff:192.0.2.7' }));
    expect(mapped.ok && mapped.decision.address).toEqual({ family: 4, text: '192.0.2.7' });
  });

  it('refuses a message larger than the limit before reading it', () => {
    const big = wire({ reason: 'x'.repeat(MAX_FLEET_MESSAGE_BYTES) });
    expect(decode(big)).toMatchObject({ ok: false, refusal: 'oversized' });
    expect(decodeFleetDecision(fleetSubject('web1'), new Uint8Array(1024 * 1024), here)).toMatchObject({ ok: false, refusal: 'oversized' });
  });

  it('refuses what is not a decision: garbage, other JSON, missing, extra and mistyped fields', () => {
    for (const garbage of ['', 'null', '[]', '"ban"', '{', 'not json', '{"v":1}'])
      expect(decode(garbage), garbage).toMatchObject({ ok: false, refusal: 'malformed' });
    expect(decodeFleetDecision(fleetSubject('web1'), new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), here)).toMatchObject({ ok: false, refusal: 'malformed' });
    const cases: Record<string, unknown>[] = [
      { v: 2 },
      { seq: 0 },
      { seq: 1.5 },
      { seq: '41' },
      { action: 'flush' },
      { permanent: 'yes' },
      { tier: 8 },
      { tier: -1 },
      { at: -1 },
      { at: Number.NaN },
      { reason: 'line one\nsshd[1]: Failed password for root from 203.0.113.9' },
      { reason: 'a\u2028b' },
      { extra: true },
      { action: 'unban', permanent: true },
    ];
    for (const change of cases) expect(decode(wire(change)), JSON.stringify(change)).toMatchObject({ ok: false, refusal: 'malformed' });
    const withProto = `${JSON.stringify(wire()).slice(0, -1)},"__proto__":{"permanent":true}}`;
    expect(decode(withProto)).toMatchObject({ ok: false, refusal: 'malformed' });
    const { jail: _dropped, ...missing } = wire();
    expect(decode(missing)).toMatchObject({ ok: false, refusal: 'malformed' });
  });

  it('refuses an origin that is not the subject it came on, and its own decisions coming back', () => {
    expect(decode(wire({ origin: 'web3' }))).toMatchObject({ ok: false, refusal: 'spoofed-origin' });
    expect(decode(wire(), 'xtban.fleet.decisions.web1.extra')).toMatchObject({ ok: false, refusal: 'spoofed-origin' });
    expect(decode(wire({ origin: 'web1.x' }), 'xtban.fleet.decisions.web1.x')).toMatchObject({ ok: false, refusal: 'malformed' });
    expect(decode(wire({ origin: 'WEB1' }), 'xtban.fleet.decisions.WEB1')).toMatchObject({ ok: false, refusal: 'malformed' });
    expect(decode(wire({ origin: 'web2' }), fleetSubject('web2'))).toMatchObject({ ok: false, refusal: 'echo' });
  });

  it('refuses a jail that does not share here, and a jail name that is no jail name', () => {
    expect(decode(wire({ jail: 'mail' }))).toMatchObject({ ok: false, refusal: 'unknown-jail' });
    expect(decode(wire({ jail: '../ssh' }))).toMatchObject({ ok: false, refusal: 'unknown-jail' });
    expect(decode(wire({ jail: 'constructor' }))).toMatchObject({ ok: false, refusal: 'unknown-jail' });
  });

  it('refuses anything but one bannable address', () => {
    for (const address of [
      '192.0.2.0/24',
      '192.0.2.7 203.0.113.9',
      '203.0.113.9,192.0.2.7',
      'example.com',
      '0.0.0.0',
      '::',
      '255.255.255.255',
      'fe80::1%eth0',
      '',
      '1.2.3',
    ]) {
      expect(decode(wire({ address })), address).toMatchObject({ ok: false, refusal: 'bad-address' });
    }
  });

  it('validates host names for subjects and the config', () => {
    expect(validateHostName('web-1')).toBe('web-1');
    for (const bad of ['', 'Web1', 'web.1', 'web*', '>', '-web', 'web-', 'a'.repeat(64), 'web 1'])
      expect(() => validateHostName(bad), bad).toThrow(/not a fleet host name/);
    expect(() => fleetSubject('web.1')).toThrow();
  });

  it('never throws on hostile bytes, and applies only a parsed, bannable address from another host', () => {
    const field = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom('192.0.2.7', '2001:db8::9', '::ffff:203.0.113.9', '0.0.0.0', 'web1', 'web2', 'ssh', 'ban', 'unban'),
    );
    const message = fc.oneof(
      fc.uint8Array({ maxLength: 600 }).map((raw) => ({ raw })),
      fc.record({ key: fc.constantFrom(...Object.keys(wire()), 'extra'), value: field }).map(({ key, value }) => ({ json: wire({ [key]: value }) })),
      fc.dictionary(fc.string({ maxLength: 8 }), field).map((json) => ({ json })),
    );
    const subject = fc.constantFrom(fleetSubject('web1'), fleetSubject('web2'), 'xtban.fleet.decisions.web1.x', 'other');
    fc.assert(
      fc.property(message, subject, (m, on) => {
        const data = 'raw' in m ? m.raw : bytes(m.json);
        const result = decodeFleetDecision(on, data, here);
        if (!result.ok) return;
        expect(on).toBe(fleetSubject(result.decision.origin));
        expect(result.decision.origin).not.toBe(here.self);
        expect(here.jails.has(result.decision.jail)).toBe(true);
        expect(parseAddress(result.decision.address.text)).toEqual(result.decision.address);
        expect(['0.0.0.0', '::', '255.255.255.255']).not.toContain(result.decision.address.text);
      }),
      { numRuns: 3000, seed: 1616 },
    );
  });

  it('reads a live ban only on the live subject of its own origin, jail and address', () => {
    const live = liveSubject(decision);
    expect(live).toBe('xtban.fleet.live.web1.ssh.192_0_2_7');
    expect(liveSubject({ ...decision, address: parseAddress('2001:db8::9') })).toBe('xtban.fleet.live.web1.ssh.2001-db8--9');
    expect(decode(wire(), live)).toMatchObject({ ok: true });
    expect(decode(wire(), 'xtban.fleet.live.web3.ssh.192_0_2_7')).toMatchObject({ ok: false, refusal: 'spoofed-origin' });
    // Its own origin's subject, but another address or jail: the subject says one ban, the body another.
    expect(decode(wire(), 'xtban.fleet.live.web1.ssh.192_0_2_8')).toMatchObject({ ok: false, refusal: 'malformed' });
    expect(decode(wire(), 'xtban.fleet.live.web1.web.192_0_2_7')).toMatchObject({ ok: false, refusal: 'malformed' });
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV6(), fc.constantFrom('ssh', 'web'), (v4, v6, jail) => {
        for (const text of [v4, v6]) {
          let address: ReturnType<typeof parseAddress>;
          try {
            address = parseAddress(text);
          } catch {
            continue;
          }
          const body = wire({ address: text, jail });
          const result = decodeFleetDecision(liveSubject({ origin: 'web1', jail, address }), bytes(body), here);
          // Refused only for an unbannable address; never for a subject made from the body itself.
          if (!result.ok) expect(result.refusal).toBe('bad-address');
          else expect(result.decision.address).toEqual(address);
        }
      }),
      { numRuns: 500, seed: 1717 },
    );
  });
});
