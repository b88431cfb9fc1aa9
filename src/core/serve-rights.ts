import { maskAddress, type Family } from './address.js';
import type { BanRecord } from './bans.js';
import { inputError } from './errors.js';

// What a key of `xtban serve` may do besides ban and query: end only the bans it made ("own", the
// default), nothing ("ban-only"), or any ban of its jails ("full"). Granted in [serve.keys.NAME].
export const SERVE_RIGHTS = ['own', 'ban-only', 'full'] as const;
export type ServeRights = (typeof SERVE_RIGHTS)[number];
export const DEFAULT_SERVE_RIGHTS: ServeRights = 'own';

// The source every ban made through serve records, alone for a forced command without --key.
export const REMOTE_SOURCE = 'remote';

const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

// Validates the name of a serve key (--key, [serve.keys.NAME]): it is written into the store as the
// owner of the key's bans, and read back from a forced command line.
export function validateKeyName(name: string, where = '--key'): string {
  if (!KEY_PATTERN.test(name)) {
    throw inputError(
      `${where}: ${JSON.stringify(name)} is not a valid key name`,
      'use 1-64 letters, digits, "-" and "_", starting with a letter or digit, for example --key web1',
    );
  }
  return name;
}

// Who a ban made through serve belongs to, as the store's source: "remote:KEY", or "remote" without --key.
export function ownerOf(key: string | undefined): string {
  return key === undefined ? REMOTE_SOURCE : `${REMOTE_SOURCE}:${key}`;
}

// True for the source of a ban a server asked for through serve.
export function isRemoteSource(source: string): boolean {
  return source === REMOTE_SOURCE || source.startsWith(`${REMOTE_SOURCE}:`);
}

// The rights the firewall's config grants a key: its [serve.keys.NAME], else the default ("own").
export function rightsOf(keys: Readonly<Record<string, ServeRights>>, key: string | undefined): ServeRights {
  return key !== undefined && Object.hasOwn(keys, key) ? (keys[key] ?? DEFAULT_SERVE_RIGHTS) : DEFAULT_SERVE_RIGHTS;
}

// Why a key may not send this verb at all, or undefined: a ban-only key may not unban or flush.
export function verbRefusal(rights: ServeRights, verb: string, key: string | undefined): string | undefined {
  if (rights !== 'ban-only' || (verb !== 'unban' && verb !== 'flush')) return undefined;
  return `${verb} is not allowed: key ${key ?? '(none)'} may only ban (rights "ban-only" in [serve.keys.${key ?? 'NAME'}] of the firewall's config)`;
}

// Whether a key may end this ban: with "full" rights any, with "own" only those it made.
export function mayEnd(record: Pick<BanRecord, 'source'>, rights: ServeRights, owner: string): boolean {
  return rights === 'full' || (rights === 'own' && record.source === owner);
}

// The kernel entries an unban or flush of bans it was allowed to end may lift: the entry (the address
// masked to the jail's prefix) of each ban it ended, unless a ban it had to keep shares that entry.
export function entriesToLift(
  ended: readonly Pick<BanRecord, 'family' | 'address'>[],
  kept: readonly Pick<BanRecord, 'family' | 'address'>[],
  mask: Readonly<Record<Family, number>>,
): { family: Family; text: string }[] {
  const entry = (record: Pick<BanRecord, 'family' | 'address'>) => maskAddress({ family: record.family, text: record.address }, mask[record.family]);
  const keptEntries = new Set(kept.map((record) => entry(record).text));
  const lift = new Map<string, { family: Family; text: string }>();
  for (const record of ended) {
    const masked = entry(record);
    if (!keptEntries.has(masked.text)) lift.set(masked.text, masked);
  }
  return [...lift.values()];
}

// The answer's tail that names the bans kept because they are not this key's: "; 1 not ours, kept: ADDR".
export function keptNote(kept: readonly Pick<BanRecord, 'address'>[]): string {
  if (kept.length === 0) return '';
  const shown = kept.slice(0, 16).map((record) => record.address);
  return `; ${kept.length} not ours, kept: ${shown.join(' ')}${kept.length > shown.length ? ' ...' : ''}`;
}
