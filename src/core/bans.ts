import type { Family } from './address.js';
import { isFleetSource } from './fleet.js';
import { isRemoteSource } from './serve-rights.js';

// A ban another server (through serve) or another host of the fleet asked for: it never takes over a
// ban made here.
const isForeign = (source: string) => isRemoteSource(source) || isFleetSource(source);

// Where a ban came from: the command line, a fail2ban action, a log, a file, a remote server...
export type BanSource = string;

// The store's record of one address in one jail: the source of truth the kernel lists are rebuilt from.
export interface BanRecord {
  jail: string;
  address: string;
  family: Family;
  // When the current ban began (ms since the epoch).
  bannedAt: number;
  // The latest sign of the address: the ban itself, or a packet the kernel saw (copied back by status).
  lastActivity: number;
  // Set when the ban was lifted on purpose (unban, flush); an expired ban keeps null.
  endedAt: number | null;
  endReason: string | null;
  permanent: boolean;
  source: BanSource;
  reason: string | null;
  // How many times the address was banned in this jail, over all time.
  offences: number;
  // Index into the jail's tiers: the window this ban runs with.
  tier: number;
}

export interface BanRequest {
  jail: string;
  address: string;
  family: Family;
  source: BanSource;
  reason: string | null;
  permanent: boolean;
  // The lowest tier the ban takes (a ban received from the fleet keeps its origin's escalation).
  minTier?: number;
}

// What a ban request did: a first ban, a refresh of a live ban, or a repeat offence after one ended.
export interface BanDecision {
  record: BanRecord;
  kind: 'new' | 'refresh' | 'repeat';
  // The tier of the ban this one replaced (repeat offences move up).
  previousTier: number | undefined;
  // Whether the ban this one replaced was permanent (undefined for a first ban).
  previousPermanent?: boolean;
}

// A ban is live while it is permanent, or its last activity plus its window is still ahead.
export function isLive(record: BanRecord, windowSeconds: number, nowMs: number): boolean {
  if (record.endedAt !== null) return false;
  return record.permanent || record.lastActivity + windowSeconds * 1000 > nowMs;
}

// The tier a ban counts at: its own, or the jail's last when the config now has fewer tiers.
export function effectiveTier(tier: number, tierWindows: readonly number[]): number {
  return Math.min(tier, tierWindows.length - 1);
}

// The window a ban runs with: that of the tier it counts at. One answer for every caller (a jail has at
// least one tier: the config says so).
export function tierWindowSeconds(tier: number, tierWindows: readonly number[]): number {
  const window = tierWindows[effectiveTier(tier, tierWindows)];
  if (window === undefined) throw new Error('a jail without a tier window');
  return window;
}

// isLive by the window of the tier the ban counts at.
export function isLiveInTiers(record: BanRecord, tierWindows: readonly number[], nowMs: number): boolean {
  return isLive(record, tierWindowSeconds(record.tier, tierWindows), nowMs);
}

// When a live, non-permanent ban runs out if the address stays silent (ms), or null for permanent ones.
export function expiresAt(record: BanRecord, windowSeconds: number): number | null {
  return record.permanent ? null : record.lastActivity + windowSeconds * 1000;
}

// Decides what a ban request does to the existing record: a live ban is refreshed (same tier, same
// offence); a ban that ran out counts as a new offence one tier up (capped at the last tier). A ban
// lifted on purpose (unban, flush: also what fail2ban does when it stops and later restores its bans)
// counts as a new offence at the same tier: an administrator's unban never makes the next ban longer.
// A live ban refreshed by a server's request (through serve) keeps its source and reason, and so does
// one that ran out without being lifted: a server's key never takes over a ban made on this host or by
// another key, and so can never end it.
export function planBan(existing: BanRecord | undefined, given: BanRequest, tierWindows: readonly number[], nowMs: number): BanDecision {
  const { minTier = 0, ...request } = given;
  const lastTier = Math.max(0, tierWindows.length - 1);
  const floor = Math.min(Math.max(0, minTier), lastTier);
  if (existing === undefined) {
    return {
      kind: 'new',
      previousTier: undefined,
      record: { ...request, bannedAt: nowMs, lastActivity: nowMs, endedAt: null, endReason: null, offences: 1, tier: floor },
    };
  }
  const own = Math.min(existing.tier, lastTier);
  const tier = Math.max(own, floor);
  if (isLive(existing, tierWindowSeconds(own, tierWindows), nowMs)) {
    const takesOver = existing.source === request.source || !isForeign(request.source);
    return {
      kind: 'refresh',
      previousTier: existing.tier,
      previousPermanent: existing.permanent,
      record: {
        ...existing,
        tier,
        lastActivity: Math.max(existing.lastActivity, nowMs),
        permanent: existing.permanent || request.permanent,
        source: takesOver ? request.source : existing.source,
        reason: takesOver ? (request.reason ?? existing.reason) : existing.reason,
      },
    };
  }
  // A ban that ran out without being lifted may still be in force in the kernel (packets keep its entry
  // fresh until the reaper looks): a server's request does not take it over either.
  const takesOver = existing.endedAt !== null || existing.source === request.source || !isForeign(request.source);
  return {
    kind: 'repeat',
    previousTier: existing.tier,
    previousPermanent: existing.permanent,
    record: {
      ...request,
      source: takesOver ? request.source : existing.source,
      reason: takesOver ? request.reason : existing.reason,
      bannedAt: nowMs,
      lastActivity: nowMs,
      endedAt: null,
      endReason: null,
      offences: existing.offences + 1,
      tier: existing.endedAt !== null && existing.endReason !== 'reaped' ? tier : Math.max(Math.min(existing.tier + 1, lastTier), floor),
    },
  };
}
