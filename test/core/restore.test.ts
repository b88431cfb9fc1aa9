import { describe, expect, it } from 'vitest';
import { layoutsFor } from '../../src/cli/context.js';
import { parseConfigText } from '../../src/config/parse.js';
import { planBan, type BanRecord } from '../../src/core/bans.js';
import { planRestore } from '../../src/core/restore.js';
import { parseSafelistText } from '../../src/core/safelist.js';

const config = parseConfigText('[jails.ssh]\nwindow = "1h"\n', 'r.toml');
const layouts = layoutsFor(config, 100);
const HOUR = 3_600_000;
// The kernel two hours after the stamps of `listed`: they are past a one-hour window.
const clock = {
  wordBits: 64 as const,
  clock: { hz: 100, jiffies: 1000 + 7200 * 100, wallMs: 10 * HOUR, wordBits: 64 as const, method: { hz: 'test', jiffies: 'test' } },
};

// A list as read: each address last seen at jiffies 1000.
function listed(...addresses: string[]): Map<string, number> {
  return new Map(addresses.map((address) => [address, 1000]));
}

function ban(address: string, at: number, extra: Partial<BanRecord> = {}): BanRecord {
  const family = address.includes(':') ? 6 : 4;
  return { ...planBan(undefined, { jail: 'ssh', address, family, source: 'cli', reason: null, permanent: false }, [3600], at).record, ...extra };
}

describe('planRestore', () => {
  const now = 10 * HOUR;
  const bans = [
    ban('192.0.2.10', now - 1000),
    ban('192.0.2.11', now - 2 * HOUR),
    ban('192.0.2.12', now - 5 * HOUR, { permanent: true }),
    ban('192.0.2.13', now - 1000, { endedAt: now - 500, endReason: 'unban' }),
    ban('192.0.2.14', now - 1000),
    ban('2001:db8::14', now - 1000),
    ban('198.51.100.1', now - 1000, { jail: 'gone' }),
  ];

  it('puts back live and permanent bans that are missing, skips the rest, and is idempotent', () => {
    const safelist = { entries: parseSafelistText('192.0.2.14\n', 'safe') };
    const kernel = new Map([
      ['xtban-ssh', listed()],
      ['xtban-ssh.v6', listed('2001:db8::14')],
    ]);
    const plan = planRestore({ jails: config.jails, layouts, bans, kernel, capacity: 100, safelist, nowMs: now, ...clock });
    // The permanent ban first.
    expect(plan.writes.map((write) => `${write.list} ${write.command}`)).toEqual(['xtban-ssh +192.0.2.12', 'xtban-ssh +192.0.2.10']);
    expect(plan.alreadyPresent).toBe(1);
    expect(plan.missing.map((missing) => missing.address)).toEqual(['192.0.2.12', '192.0.2.10']);
    expect(plan.skippedSafelisted).toEqual([{ jail: 'ssh', address: '192.0.2.14', reason: '192.0.2.14 is safelisted (192.0.2.14 from safe:1)' }]);
    expect(plan.unknownJail).toEqual([{ jail: 'gone', address: '198.51.100.1' }]);

    const after = new Map([
      ['xtban-ssh', listed('192.0.2.10', '192.0.2.12')],
      ['xtban-ssh.v6', listed('2001:db8::14')],
    ]);
    const again = planRestore({ jails: config.jails, layouts, bans, kernel: after, capacity: 100, safelist, nowMs: now, ...clock });
    expect(again.writes).toEqual([]);
    expect(again.alreadyPresent).toBe(3);
  });

  it('reports bans whose list is missing, or full of live bans, instead of writing them; an entry that is no live ban makes room', () => {
    const missing = planRestore({ jails: config.jails, layouts, bans, kernel: new Map(), capacity: 100, safelist: { entries: [] }, nowMs: now, ...clock });
    expect(missing.writes).toEqual([]);
    expect(missing.listMissing.map((entry) => entry.list)).toEqual(['xtban-ssh', 'xtban-ssh', 'xtban-ssh', 'xtban-ssh.v6']);
    const full = planRestore({
      jails: config.jails,
      layouts,
      bans,
      kernel: new Map([
        ['xtban-ssh', listed('192.0.2.99')],
        ['xtban-ssh.v6', listed()],
      ]),
      capacity: 2,
      safelist: { entries: [] },
      nowMs: now,
      ...clock,
    });
    // The permanent ban goes back first; 192.0.2.99 is no ban of the store: it makes room for the next;
    // the third would evict a live one.
    expect(full.writes.map((write) => write.command)).toEqual(['+192.0.2.12', '-192.0.2.99', '+192.0.2.10', '+2001:db8::14']);
    expect(full.evicts).toEqual([{ jail: 'ssh', address: '192.0.2.99', list: 'xtban-ssh', by: '192.0.2.10' }]);
    expect(full.noRoom.map((entry) => entry.address)).toEqual(['192.0.2.14']);
  });

  it('puts a permanent ban back into a list full of live bans that end, in the place of the least recently seen, which it reports without room', () => {
    const live = [ban('192.0.2.20', now - 1000), ban('192.0.2.21', now - 1000), ban('192.0.2.22', now - 1000, { permanent: true })];
    const plan = planRestore({
      jails: config.jails,
      layouts,
      bans: live,
      // .20 seen before .21; the permanent .22 is missing.
      kernel: new Map([
        [
          'xtban-ssh',
          new Map([
            ['192.0.2.21', 720_900],
            ['192.0.2.20', 720_800],
          ]),
        ],
        ['xtban-ssh.v6', listed()],
      ]),
      capacity: 2,
      safelist: { entries: [] },
      nowMs: now,
      ...clock,
    });
    expect(plan.writes.map((write) => write.command)).toEqual(['-192.0.2.20', '+192.0.2.22']);
    expect(plan.evicts).toEqual([{ jail: 'ssh', address: '192.0.2.20', list: 'xtban-ssh', by: '192.0.2.22', displaced: true }]);
    expect(plan.noRoom).toEqual([{ jail: 'ssh', address: '192.0.2.20', list: 'xtban-ssh' }]);
  });
});

describe('planRestore after a mask change', () => {
  it('puts bans made under a longer mask back as their network, each network once', () => {
    const masked = parseConfigText('[jails.ssh]\nwindow = "1h"\nmask = { ipv4 = 24, ipv6 = 64 }\n', 'm.toml');
    const now = 10 * HOUR;
    const bans = [ban('198.51.100.7', now - 1000), ban('198.51.100.9', now - 1000), ban('2001:db8::7', now - 1000)];
    const kernel = new Map([
      ['xtban-ssh.m24', listed()],
      ['xtban-ssh.v6.m64', listed()],
    ]);
    const plan = planRestore({
      jails: masked.jails,
      layouts: layoutsFor(masked, 100),
      bans,
      kernel,
      capacity: 100,
      safelist: { entries: [] },
      nowMs: now,
      ...clock,
    });
    // Lists of another mask are other lists: the name says the mask.
    expect(plan.writes.map((write) => `${write.list} ${write.command}`)).toEqual(['xtban-ssh.m24 +198.51.100.0', 'xtban-ssh.v6.m64 +2001:db8::']);
    // An entry of the old, unmasked form is not the ban the kernel would match: it is missing.
    const old = planRestore({
      jails: masked.jails,
      layouts: layoutsFor(masked, 100),
      bans: [bans[0] as BanRecord],
      kernel: new Map([['xtban-ssh.m24', listed('198.51.100.7')]]),
      capacity: 100,
      safelist: { entries: [] },
      nowMs: now,
      ...clock,
    });
    expect(old.missing).toEqual([{ jail: 'ssh', address: '198.51.100.0', list: 'xtban-ssh.m24' }]);
  });
});

describe('planRestore across shards', () => {
  const sharded = parseConfigText('[jails.ssh]\nwindow = "1h"\nfamily = "ipv4"\ncapacity = 600\n', 's.toml');
  const shardLayouts = layoutsFor(sharded, 100);
  const names = (shardLayouts.get('ssh')?.slots ?? []).map((slot) => slot.name);
  const now = 10 * HOUR;

  it('leaves a ban where its packets meet it, and moves one found in another shard into its own, written there before it leaves', () => {
    expect(names).toEqual([
      'xtban-ssh.0',
      'xtban-ssh.1',
      'xtban-ssh.2',
      'xtban-ssh.3',
      'xtban-ssh.4',
      'xtban-ssh.5',
      'xtban-ssh.6',
      'xtban-ssh.7',
      'xtban-ssh.spill',
    ]);
    const bans = Array.from({ length: 40 }, (_, index) => ban(`192.0.2.${index + 1}`, now - 1000));
    // Every ban sits in shard 0, as an older layout may have left it: those of shard 0 (the addresses
    // whose lowest three bits are 0) are in place, the others move.
    const kernel = new Map(names.map((name, index) => [name, index === 0 ? listed(...bans.map((record) => record.address)) : listed()]));
    const plan = planRestore({ jails: sharded.jails, layouts: shardLayouts, bans, kernel, capacity: 100, safelist: { entries: [] }, nowMs: now, ...clock });
    expect(plan.alreadyPresent).toBe(5);
    expect(plan.moved.length).toBe(35);
    for (const move of plan.moved) {
      expect(move.from).toBe('xtban-ssh.0');
      expect(move.to).toBe(`xtban-ssh.${Number(move.address.split('.')[3]) % 8}`);
    }
    // Each move adds to its own shard before it leaves the old one: never out of both.
    expect(plan.writes.slice(0, 2).map((write) => write.command[0])).toEqual(['+', '-']);
    expect(plan.writes.length).toBe(70);
    // Once moved, nothing more to do.
    const after = new Map(kernel);
    for (const write of plan.writes) {
      const list = new Map(after.get(write.list));
      if (write.command.startsWith('+')) list.set(write.address, 1000);
      else list.delete(write.address);
      after.set(write.list, list);
    }
    const again = planRestore({
      jails: sharded.jails,
      layouts: shardLayouts,
      bans,
      kernel: after,
      capacity: 100,
      safelist: { entries: [] },
      nowMs: now,
      ...clock,
    });
    expect(again.writes).toEqual([]);
    expect(again.alreadyPresent).toBe(40);
  });
});
