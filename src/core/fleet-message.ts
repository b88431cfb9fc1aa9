import { z } from 'zod';
import { type Address, parseAddress, unbannableReason } from './address.js';
import { inputError } from './errors.js';
import { isJailName } from './names.js';

// A decision one host of a fleet publishes and the others apply, as it goes over NATS: the bytes of a
// small JSON object on the origin's own subject. Whoever can publish may send anything, so the bytes are
// read back only through decodeFleetDecision, which decides on the parsed form and refuses the rest.

export const FLEET_MESSAGE_VERSION = 1;
// A decision is under 400 bytes; anything past this is refused before it is parsed.
export const MAX_FLEET_MESSAGE_BYTES = 2048;
export const MAX_FLEET_REASON_LENGTH = 200;
// Every decision goes to FLEET_SUBJECT_PREFIX.<origin>: a host's credentials may publish there only.
export const FLEET_SUBJECT_PREFIX = 'xtban.fleet.decisions';
const MAX_TIER = 7;

export interface FleetDecision {
  // The fleet name of the host that made it.
  origin: string;
  // The origin's own counter: (origin, seq) names the decision, so that one delivered twice acts once.
  seq: number;
  action: 'ban' | 'unban';
  jail: string;
  address: Address;
  permanent: boolean;
  tier: number;
  reason: string | null;
  // When the origin decided (ms); the receiver starts a ban's window when it arrives.
  at: number;
}

// Why a message was not applied, for the log and the refusal counter.
export type FleetRefusal = 'oversized' | 'malformed' | 'spoofed-origin' | 'echo' | 'unknown-jail' | 'bad-address';

export type DecodedFleetDecision = { ok: true; decision: FleetDecision } | { ok: false; refusal: FleetRefusal; detail: string };

// A fleet host name: a lowercase DNS label, so that it is one token of a NATS subject (no '.', '*', '>' or
// space) and reads the same in logs and metrics.
const HOST_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

// Validates a fleet host name (config, subjects).
export function validateHostName(name: string, where = 'fleet name'): string {
  if (!HOST_NAME.test(name)) {
    throw inputError(
      `${where}: ${JSON.stringify(name)} is not a fleet host name`,
      'use at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit',
    );
  }
  return name;
}

// The subject a host publishes its decisions on.
export function fleetSubject(host: string): string {
  return `${FLEET_SUBJECT_PREFIX}.${validateHostName(host)}`;
}

// The live bans: one subject per origin, jail and address, of which JetStream keeps the last message
// only. A host whose position is older than the decisions stream keeps resyncs from it.
export const FLEET_LIVE_PREFIX = 'xtban.fleet.live';

// An address as one subject token: "192.0.2.1" is 192_0_2_1, "2001:db8::1" is 2001-db8--1.
export function addressToken(address: Address): string {
  return address.text.replace(/[.:]/g, (character) => (character === '.' ? '_' : '-'));
}

// The live subject of a decision: its origin's, for its jail and address.
export function liveSubject(decision: Pick<FleetDecision, 'origin' | 'jail' | 'address'>): string {
  return `${FLEET_LIVE_PREFIX}.${validateHostName(decision.origin)}.${decision.jail}.${addressToken(decision.address)}`;
}

// Printable text only: a reason lands in the store and in log lines a person reads.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const wire = z.strictObject({
  v: z.literal(FLEET_MESSAGE_VERSION),
  origin: z.string().max(63),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  action: z.enum(['ban', 'unban']),
  jail: z.string().max(64),
  address: z.string().max(64),
  permanent: z.boolean(),
  tier: z.number().int().min(0).max(MAX_TIER),
  reason: z.string().max(MAX_FLEET_REASON_LENGTH).nullable(),
  at: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

// The bytes of a decision, as its origin publishes it.
export function encodeFleetDecision(decision: FleetDecision): Uint8Array {
  const body: z.infer<typeof wire> = {
    v: FLEET_MESSAGE_VERSION,
    origin: decision.origin,
    seq: decision.seq,
    action: decision.action,
    jail: decision.jail,
    address: decision.address.text,
    permanent: decision.permanent,
    tier: decision.tier,
    reason: decision.reason,
    at: decision.at,
  };
  return new TextEncoder().encode(JSON.stringify(body));
}

const refuse = (refusal: FleetRefusal, detail: string): DecodedFleetDecision => ({ ok: false, refusal, detail });

// Reads a message received on `subject`: a decision of another host for one of `jails` (this host's
// jails that share), or why not. Never throws. The receiver's own safelist and addresses are checked
// after this, on the decision's parsed address, as for any ban.
export function decodeFleetDecision(subject: string, data: Uint8Array, context: { self: string; jails: ReadonlySet<string> }): DecodedFleetDecision {
  if (data.byteLength > MAX_FLEET_MESSAGE_BYTES) return refuse('oversized', `${data.byteLength} bytes, more than ${MAX_FLEET_MESSAGE_BYTES}`);
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(data);
    value = JSON.parse(text);
  } catch {
    return refuse('malformed', 'not JSON in UTF-8');
  }
  const parsed = wire.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return refuse('malformed', `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}`);
  }
  const body = parsed.data;
  if (!HOST_NAME.test(body.origin)) return refuse('malformed', `origin ${JSON.stringify(body.origin)} is not a fleet host name`);
  // The subject is what the server's permissions vouch for: an origin other than the subject's is a lie.
  const live = subject.startsWith(`${FLEET_LIVE_PREFIX}.`);
  if (live ? !subject.startsWith(`${FLEET_LIVE_PREFIX}.${body.origin}.`) : subject !== `${FLEET_SUBJECT_PREFIX}.${body.origin}`)
    return refuse('spoofed-origin', `origin ${body.origin} on ${JSON.stringify(subject)}`);
  if (body.origin === context.self) return refuse('echo', `a decision of this host (${body.origin})`);
  if (body.reason !== null && CONTROL.test(body.reason)) return refuse('malformed', 'reason holds control characters');
  if (body.action === 'unban' && body.permanent) return refuse('malformed', 'an unban cannot be permanent');
  if (!isJailName(body.jail) || !context.jails.has(body.jail)) return refuse('unknown-jail', `jail ${JSON.stringify(body.jail)} does not share here`);
  let address: Address;
  try {
    address = parseAddress(body.address, 'address');
  } catch (error) {
    return refuse('bad-address', error instanceof Error ? error.message : String(error));
  }
  const unbannable = unbannableReason(address);
  if (unbannable !== undefined) return refuse('bad-address', unbannable);
  if (live && subject !== `${FLEET_LIVE_PREFIX}.${body.origin}.${body.jail}.${addressToken(address)}`)
    return refuse('malformed', `a live ban of ${body.jail} ${address.text} on ${JSON.stringify(subject)}`);
  return {
    ok: true,
    decision: {
      origin: body.origin,
      seq: body.seq,
      action: body.action,
      jail: body.jail,
      address,
      permanent: body.permanent,
      tier: body.tier,
      reason: body.reason,
      at: body.at,
    },
  };
}
