// The known attacks on xtban, each reproduced at unit level: the attack is in the test's name, the test
// asserts the safe behaviour. Pure functions, in-memory stores, scratch directories and the kernel fake
// (test/helpers/fake-kernel.ts, which drops a full list's least recently used entry as the kernel does).
// Nothing here needs root. The same attacks against a real kernel are in test/kernel and test/system.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import RE2 from 're2';
import { describe, expect, it } from 'vitest';
import { openBanStore, type BanStore } from '../../src/adapters/ban-store.js';
import { daemonLockFile, daemonRunning, lockDaemon } from '../../src/adapters/daemon-lock.js';
import { withFreshSafelist } from '../../src/adapters/fresh-safelist.js';
import type { Firewall } from '../../src/adapters/firewall.js';
import { fixtureFirewall } from '../helpers/fixture-firewall.js';
import { applyRuleset } from '../../src/app/apply.js';
import { admitAddress, banInProcess, flushJails, unbanInProcess } from '../../src/app/ban-pipeline.js';
import { layoutsFor, type KernelContext } from '../../src/cli/context.js';
import { restoreBans } from '../../src/app/restore.js';
import { collectStatus, readClock } from '../../src/app/status.js';
import { loadConfig } from '../../src/config/load.js';
import { parseConfigText } from '../../src/config/parse.js';
import type { Config, JailConfig } from '../../src/core/domain.js';
import { parseAddress, unbannableReason, type Address } from '../../src/core/address.js';
import { settleBatch } from '../../src/core/delivery.js';
import { XtbanError } from '../../src/core/errors.js';
import { compileFilter, matchMessage, MAX_MESSAGE_LENGTH } from '../../src/core/filter.js';
import { checkPatternSafety } from '../../src/core/filter-safety.js';
import { builtinSpec } from '../../src/core/filters/builtin.js';
import { sshdFilter as sshdBuiltin } from '../../src/core/filters/sshd.js';

// Every pattern of the sshd filter (its aggressive mode holds them all).
const sshdFilter = builtinSpec(sshdBuiltin, 'aggressive');
import { parseFilterTable } from '../../src/core/iptables-save.js';
import { slotName } from '../../src/core/layout.js';
import { ownShard } from '../../src/core/placement.js';
import { parseJournalEntry } from '../../src/core/log-line.js';
import { planApply, unconfiguredChains } from '../../src/core/ruleset-plan.js';
import { renderFamily } from '../../src/core/ruleset.js';
import { mayEnd, ownerOf, rightsOf, verbRefusal } from '../../src/core/serve-rights.js';
import type { FakeKernel } from '../helpers/fake-kernel.js';
import { fakeContext } from '../helpers/fake-context.js';
import { scratchDir } from '../helpers/scratch.js';

const PROC = new URL('../../fixtures/proc/', import.meta.url).pathname;
const EXAMPLE = new URL('../../fixtures/config/example.toml', import.meta.url).pathname;
const APPLIED = new URL('../../fixtures/iptables/applied', import.meta.url).pathname;

// What each case works on: the context the ban paths take, the kernel fake behind it, the store.
interface World {
  context: KernelContext;
  kernel: FakeKernel;
  store: BanStore;
  config: Config;
  jail: (name: string) => JailConfig;
}

// A KernelContext over the kernel fake (see test/helpers/fake-context.ts).
function world(configText: string, ipListTot = 100): World {
  const config = parseConfigText(configText, 'attacks.toml');
  const { context, kernel, store } = fakeContext(config, { ipListTot });
  const jail = (name: string) => {
    const found = config.jails.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no jail ${name}`);
    return found;
  };
  return { context, kernel, store, config, jail };
}

// Addresses as a source hands them to the ban paths.
const addresses = (...texts: string[]): Address[] => texts.map((text) => parseAddress(text));

// The next turn of the event loop: the next batch of admissions.
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

// What <ADDR> captures in a pattern compiled raw, without the safety check.
const rawCapture = (pattern: string, message: string) =>
  new RE2(`^(?:${pattern.replace('<ADDR>', '(?<addr>[0-9A-Fa-f:.]{2,45})')})$`).exec(message)?.groups?.['addr'];

describe('known attacks', () => {
  // 1. An administrator adds an address to a safelist file; the daemon's sources kept banning it until
  //    the next reap, as they checked the safelist read at start.
  it('1: an address just added to a safelist file is not banned by a long-running process', async () => {
    const dir = scratchDir('xtban-attacks-');
    const file = join(dir, 'safe.txt');
    writeFileSync(file, '198.51.100.1\n');
    const w = world(`[safelist]\nown_addresses = false\nfiles = [${JSON.stringify(file)}]\n\n[jails.ssh]\nwindow = "1h"\n`);
    const errors: string[] = [];
    const context = withFreshSafelist(w.context, (problem) => errors.push(problem));
    const ssh = w.jail('ssh');
    expect(admitAddress(context, ssh, parseAddress('198.51.100.1'))).toHaveProperty('refused');
    expect(admitAddress(context, ssh, parseAddress('203.0.113.9'))).toEqual({ address: parseAddress('203.0.113.9') });
    writeFileSync(file, '198.51.100.1\n203.0.113.9\n');
    await nextTurn();
    // The next batch of admissions sees the file as it is now.
    const admitted = admitAddress(context, ssh, parseAddress('203.0.113.9'));
    expect(admitted).toEqual({ refused: expect.stringContaining(`203.0.113.9 is safelisted (203.0.113.9 from ${file}:2)`) });
    expect(errors).toEqual([]);
  });

  // 2. A user filter pattern spells the space or the repetition after <ADDR> so the old text scanner
  //    missed it; a user name "x from 192.0.2.7 port 22" then chose the address captured.
  it.each([
    String.raw`Invalid user \S+ from <ADDR>(?:\x20\S+)*`,
    String.raw`Invalid user \S+ from <ADDR>(?:[[:space:]]\S+)*`,
    String.raw`Invalid user \S+ from <ADDR>(?: \S+){0,1000}`,
  ])('2: the pattern safety check is not bypassed by %s after <ADDR>', (pattern) => {
    expect(rawCapture(pattern, 'Invalid user x from 192.0.2.7 port 22 ssh2 from 203.0.113.5 port 4242')).toBe('192.0.2.7');
    expect(() => checkPatternSafety(pattern, 'filters.app.patterns[0]')).toThrow(/is unsafe: after <ADDR> it has/);
  });

  // 2 (the other side). A parenthesis written as a class before <ADDR> is a character, not a group.
  it('2: a "(" written [(] before <ADDR> is accepted, and the pattern captures the real address', () => {
    const pattern = String.raw`login [(].* from [(]<ADDR>[)]`;
    expect(() => checkPatternSafety(pattern, 'filters.app.patterns[0]')).not.toThrow();
    const filter = compileFilter({ name: 'app', programs: [], patterns: [pattern], ignore: [] });
    expect(matchMessage(filter, 'app', 'login (x from (192.0.2.7) from (203.0.113.5)')).toMatchObject({ kind: 'match', address: { text: '203.0.113.5' } });
  });

  // 3. A user name padded so that a message cut at 4096 characters ends just after " from 192.0.2.7 port 22".
  it('3: a message padded so a 4096-character cut ends after an injected address is not matched at all', () => {
    const injected = ' from 192.0.2.7 port 22';
    const user = `x${'a'.repeat(MAX_MESSAGE_LENGTH - 'Invalid user x'.length - injected.length)}${injected}`;
    const message = `Invalid user ${user} from 203.0.113.5 port 4242`;
    expect(message.slice(0, MAX_MESSAGE_LENGTH).endsWith(injected)).toBe(true);
    expect(matchMessage(compileFilter(sshdFilter), 'sshd', message)).toEqual({ kind: 'too-long' });
  });

  // 4. The kernel keeps the mask a list was made with: after a mask change, the same list name made
  //    every new (masked) ban an entry no packet would ever match.
  it('4: after a mask change, bans go into a list named for the new mask, old bans back as their network', async () => {
    expect(slotName('xtban-ssh', 4, undefined, undefined, 24)).toBe('xtban-ssh.m24');
    expect(slotName('xtban-ssh', 4, undefined, undefined, 32)).toBe('xtban-ssh');
    const before = world('[jails.ssh]\nwindow = "1h"\nfamily = "ipv4"\n');
    banInProcess(before.context, before.jail('ssh'), addresses('198.51.100.7', '198.51.100.9'), { source: 'cli', reason: null, permanent: false });
    expect(before.kernel.entries('xtban-ssh')).toEqual(['198.51.100.7', '198.51.100.9']);
    // The config now masks to /24; apply makes the new list, empty, and restores the store's bans into it.
    const after = world('[jails.ssh]\nwindow = "1h"\nfamily = "ipv4"\nmask = { ipv4 = 24 }\n');
    const context: KernelContext = { ...after.context, store: () => before.store };
    expect([...after.context.layouts.values()].flatMap((layout) => layout.slots.map((slot) => slot.name))).toEqual(['xtban-ssh.m24']);
    await restoreBans(context, after.config.jails);
    expect(after.kernel.entries('xtban-ssh.m24')).toEqual(['198.51.100.0']);
  });

  // 5. A web server's key on the central firewall unbans or flushes what the firewall banned by hand,
  //    directly, or after taking the ban over with a refresh.
  it("5: a serve key cannot end the firewall's own bans, not even after refreshing one", () => {
    const w = world('[jails.ssh]\nwindow = "1h"\nfamily = "ipv4"\n');
    const ssh = w.jail('ssh');
    banInProcess(w.context, ssh, addresses('192.0.2.7'), { source: 'cli', reason: 'scanner', permanent: true });
    // Key web1 bans the same address again: a refresh, and still the firewall's ban.
    banInProcess(w.context, ssh, addresses('192.0.2.7', '192.0.2.8'), { source: 'remote:web1', reason: 'remote 198.51.100.2', permanent: false });
    expect(w.store.get('ssh', '192.0.2.7')).toMatchObject({ source: 'cli', reason: 'scanner', permanent: true });
    // Without [serve.keys.web1], web1 has "own" rights: its unban and its flush end only its own ban;
    // the firewall's stays, in the store and in the kernel.
    const web1 = { owner: ownerOf('web1'), rights: rightsOf(w.config.serve.keys, 'web1') };
    expect(web1).toEqual({ owner: 'remote:web1', rights: 'own' });
    const may = (record: { source: string }) => mayEnd(record, web1.rights, web1.owner);
    const unban = unbanInProcess(w.context, ssh, addresses('192.0.2.7'), web1.owner, { may });
    expect([unban.ended.length, unban.kept.map((record) => record.address)]).toEqual([0, ['192.0.2.7']]);
    const flush = flushJails(w.context, [ssh], web1.owner, { may });
    expect([flush.ended.get('ssh'), flush.kept.map((record) => record.address)]).toEqual([1, ['192.0.2.7']]);
    expect(w.store.get('ssh', '192.0.2.8')?.endReason).toBe('flush');
    expect(w.store.get('ssh', '192.0.2.7')?.endedAt).toBeNull();
    expect(w.kernel.entries('xtban-ssh')).toEqual(['192.0.2.7']);
    // A "ban-only" key may not send unban or flush at all; only "full" ends any ban.
    const keys = parseConfigText('[jails.ssh]\nwindow = "1h"\n\n[serve.keys.web2]\nrights = "ban-only"\n', 'attacks.toml').serve.keys;
    const web2 = rightsOf(keys, 'web2');
    expect(web2).toBe('ban-only');
    expect(verbRefusal(web2, 'unban', 'web2')).toMatch(/unban is not allowed: key web2 may only ban/);
    expect(verbRefusal(web2, 'flush', 'web2')).toMatch(/flush is not allowed/);
    expect(verbRefusal(web2, 'ban', 'web2')).toBeUndefined();
    expect(mayEnd({ source: 'cli' }, 'ban-only', 'remote:web2')).toBe(false);
    expect(mayEnd({ source: 'cli' }, 'full', 'remote:web3')).toBe(true);
  });

  // 6. A daemon.pid left behind names a live process that is not xtban: commands took it for the daemon
  //    and left delivery to it; and a second daemon could start on the same state directory.
  it('6: the daemon lock is not fooled by a stale pid, and a second daemon on one state directory is refused', async () => {
    const dir = scratchDir('xtban-attacks-');
    // pid 1 is alive and holds no lock.
    writeFileSync(daemonLockFile(dir), '1\n');
    expect(daemonRunning(dir)).toBe(false);
    const first = await lockDaemon(dir);
    expect(daemonRunning(dir)).toBe(true);
    await expect(lockDaemon(dir, 2)).rejects.toThrow(/another xtban daemon runs on the state directory/);
    first.release();
    expect(daemonRunning(dir)).toBe(false);
    (await lockDaemon(dir, 2)).release();
  });

  // 7. An attacker who can get addresses banned picks 150 for the shard of a permanent ban (then by the
  //    public FNV-1a hash; now the shard is the address bits the dispatch tree tests, public by design):
  //    the shard (100 entries) overflowed and the kernel evicted the permanent ban.
  it('7: 150 addresses chosen for the shard of a permanent ban neither evict it nor any live ban: they spill into the spill list', () => {
    const w = world('[jails.big]\nwindow = "1h"\nfamily = "ipv4"\ncapacity = 2000\n');
    const big = w.jail('big');
    const layout = w.context.layouts.get('big');
    if (!layout) throw new Error('layout');
    expect(layout.shards).toBe(32);
    const victim = '192.0.2.77';
    banInProcess(w.context, big, addresses(victim), { source: 'cli', reason: null, permanent: true });
    const home = layout.slots.find((slot) => w.kernel.entries(slot.name)?.includes(victim))?.name;
    expect(home).toBe(`xtban-big.${77 % 32}`);
    // The shard is the address's lowest bits: anyone can choose addresses of it.
    const chosen: string[] = [];
    for (let i = 0; chosen.length < 150; i++) {
      const address = `203.0.${113 + Math.floor(i / 250)}.${(i % 250) + 1}`;
      if (ownShard(layout, { family: 4, text: address }) === ownShard(layout, { family: 4, text: victim })) chosen.push(address);
    }
    const { placements } = banInProcess(w.context, big, addresses(...chosen), { source: 'log', reason: null, permanent: false });
    expect(w.kernel.entries(home ?? '')).toContain(victim);
    expect(w.kernel.evictions).toEqual([]);
    expect([...placements.values()].filter((placement) => placement.kind !== 'placed')).toEqual([]);
    expect(w.kernel.entries(home ?? '')?.length).toBe(100);
    expect(w.kernel.entries('xtban-big.spill')?.length).toBe(51);
    expect(layout.slots.reduce((sum, slot) => sum + (w.kernel.entries(slot.name)?.length ?? 0), 0)).toBe(151);
  });

  // 8. A central firewall refuses one request for good (a jail it does not permit): the outbox kept
  //    sending it first, and every request behind it waited forever.
  it('8: a request refused for good is dead-lettered and the requests after it are delivered, in order', () => {
    const store = openBanStore(':memory:');
    store.enqueue(
      [
        { target: 'fw', verb: 'ban', jail: 'web', address: '192.0.2.1' },
        { target: 'fw', verb: 'ban', jail: 'ssh', address: '192.0.2.2' },
        { target: 'fw', verb: 'ban', jail: 'ssh', address: '192.0.2.3' },
      ],
      1000,
    );
    const idOf = (seq: number) => `i-${seq}`;
    const sent = store.pending('fw', 10).map((item) => ({ seq: item.seq, line: `@${idOf(item.seq)} ${item.verb} ${item.jail} ${item.address}` }));
    const [refused, second, third] = sent.map((request) => request.seq);
    const answers = [`@i-${refused} error refused: jail web is not permitted here`, `@i-${second} ok banned 1`, `@i-${third} ok banned 1`];
    const settlement = settleBatch(sent, answers, idOf);
    expect(settlement).toMatchObject({ acknowledged: [second, third], refused: [{ seq: refused }], stoppedAt: undefined });
    store.settle(settlement.acknowledged, settlement.refused, 2000);
    expect(store.pending('fw', 10)).toEqual([]);
    expect(store.deadLetters('fw', 10).map((letter) => letter.address)).toEqual(['192.0.2.1']);
    // A failure that may pass stops there instead: it and the later ones stay queued, in order.
    expect(settleBatch(sent, [`@i-${refused} ok`, `@i-${second} error failed: kernel`, `@i-${third} ok`], idOf)).toMatchObject({
      acknowledged: [refused],
      stoppedAt: { seq: second },
    });
    store.close();
  });

  // 9. 150 bans into a list of 100: the command said all was well, and the kernel silently evicted the
  //    51 least recently used entries, live bans among them.
  it('9: 150 bans into a list of 100 place 100, say the 50 others are not placed, and evict nothing', () => {
    const w = world('[jails.web]\nwindow = "1h"\nfamily = "ipv4"\n');
    const list = Array.from({ length: 150 }, (_, i) => `198.51.100.${i + 1}`);
    const { placements } = banInProcess(w.context, w.jail('web'), addresses(...list), { source: 'cli', reason: null, permanent: false });
    expect(w.kernel.evictions).toEqual([]);
    expect(w.kernel.entries('xtban-web')).toEqual(list.slice(0, 100));
    const kinds = [...placements.values()].map((placement) => placement.kind);
    expect(kinds.filter((kind) => kind === 'placed')).toHaveLength(100);
    expect(kinds.filter((kind) => kind === 'full')).toHaveLength(50);
    const unplaced = w.store.events('web', 1000).filter((event) => event.action === 'unplaced');
    expect(unplaced.map((event) => event.address).sort()).toEqual(list.slice(100).sort());
    // Every ban is kept in the store, for restore to place once there is room.
    expect(w.store.open('web')).toHaveLength(150);
  });

  // 10. With detect, the probe list stamps every new connection: status copied those stamps into the
  //     store as activity, and an expired ban came back to life at the next reap.
  it("10: a probe list's stamps are not a ban's activity; a ban list's are", async () => {
    const w = world('[jails.ssh]\nwindow = "1h"\nfamily = "ipv4"\ndetect = { hitcount = 5, seconds = "1m" }\n');
    const clock = await readClock(PROC);
    const expiredAt = clock.wallMs - 2 * 3_600_000;
    w.store.ban(
      addresses('192.0.2.7', '192.0.2.8').map((address) => ({ jail: 'ssh', address: address.text, family: 4, source: 'cli', reason: null, permanent: false })),
      () => [3600],
      expiredAt,
    );
    // A packet a second ago: 192.0.2.7 only connected (probe list), 192.0.2.8 hit its ban (ban list).
    const line = (address: string) => `src=${address} ttl: 64 last_seen: ${clock.jiffies - clock.hz} oldest_pkt: 1 ${clock.jiffies - clock.hz}\n`;
    const texts: Record<string, string> = { 'xtban-ssh': line('192.0.2.8'), 'xtban-ssh.probe': line('192.0.2.7'), 'xtban-ssh.detect': '' };
    const context: KernelContext = { ...w.context, lists: { ...w.kernel, read: async (list) => texts[list], readNow: (list) => texts[list] } };
    await collectStatus(context, w.config.jails, { allLists: false, live: true, copyActivity: true, clockDir: PROC });
    expect(w.store.get('ssh', '192.0.2.7')?.lastActivity).toBe(expiredAt);
    expect(w.store.get('ssh', '192.0.2.8')?.lastActivity).toBeGreaterThan(clock.wallMs - 2000);
  });

  // 11. Jails removed from the config kept their chains, which kept dropping; removing every chain that
  //     looks like xtban's would take an administrator's own xtban-allow.
  it("11: apply removes the chain of a jail no longer configured that it applied, never an administrator's look-alike", () => {
    const config = parseConfigText('[jails.ssh]\nports = [22]\nwindow = "1h"\nfamily = "ipv4"\n', 'attacks.toml');
    const desired = renderFamily(config.jails, 4, layoutsFor(config, 100));
    const current = parseFilterTable(
      [
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':xtban-old - [0:0]',
        ':xtban-allow - [0:0]',
        '-A INPUT -s 192.0.2.1/32 -j xtban-allow',
        '-A INPUT -p tcp -m tcp --dport 2222 -j xtban-old',
        '-A xtban-allow -j ACCEPT',
        '-A xtban-old -m recent --update --seconds 60 --name xtban-old --mask 255.255.255.255 --rsource -j DROP',
        'COMMIT',
        '',
      ].join('\n'),
    );
    // What this state directory's apply recorded: ssh and the jail "old" since removed.
    const applied = new Set(['xtban-ssh', 'xtban-old']);
    const remove = unconfiguredChains(current, new Set(desired.map((jail) => jail.chain)), applied);
    expect(remove).toEqual([{ jail: 'old', chain: 'xtban-old' }]);
    const script = planApply(current, desired, 4, remove).script;
    expect(script).toContain('-X xtban-old\n');
    expect(script).not.toContain('xtban-allow');
    // Nothing recorded (another state directory's chains): nothing is taken.
    expect(unconfiguredChains(current, new Set(['xtban-ssh']), new Set())).toEqual([]);
  });

  // 12. rate = "60/min" was written as given, iptables printed it back as 1/sec, and apply found a
  //     difference every time; "20000/sec" passed check and iptables-restore refused it.
  it('12: a log rate is kept in the form iptables prints, and one faster than the limit match is refused', () => {
    const jail = (rate: string) => parseConfigText(`[jails.ssh]\nwindow = "1h"\nlog = { rate = ${JSON.stringify(rate)} }\n`, 'attacks.toml').jails[0];
    expect(jail('60/min')?.log?.rate).toBe('1/sec');
    expect(() => jail('20000/sec')).toThrow(/faster than the 10000\/sec/);
  });

  // 12 (apply). One family's restore refused (an IPv6 rule the kernel lacks, say) left the other
  //     family unapplied too.
  it("12: when one family's restore is refused, the other family is still applied", async () => {
    const config = await loadConfig(EXAMPLE);
    const fixture = fixtureFirewall(APPLIED);
    const empty = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
    // Both tables start empty; IPv4's restore is refused, IPv6's leaves the table as the config wants.
    let ipv6Applied = false;
    const firewall: Firewall = {
      description: 'one family refused',
      save: async (family) => (family === 6 && ipv6Applied ? fixture.save(6) : empty),
      restore: async (family) => {
        if (family === 4) throw new XtbanError('iptables-restore: line 3 failed', { exitCode: 3 });
        ipv6Applied = true;
      },
    };
    const { plans, failures } = await applyRuleset(config, layoutsFor(config, 100), firewall, { dryRun: false });
    expect(failures.map((failure) => [failure.family, failure.error.message])).toEqual([[4, 'iptables-restore: line 3 failed']]);
    expect(plans.map((plan) => plan.family)).toEqual([6]);
    expect(ipv6Applied).toBe(true);
  });

  // 13. Addresses that are no host: "::192.0.2.9" was read as IPv4 192.0.2.9 (banning a bystander), and
  //     0.0.0.0, :: and 255.255.255.255 could be banned; detect.seconds = "200d" wrapped in the kernel.
  it('13: ::192.0.2.9 is IPv6, unroutable addresses cannot be banned, detect.seconds is bounded', () => {
    expect(parseAddress('::192.0.2.9')).toEqual({ family: 6, text: '::c000:209' });
    for (const text of ['0.0.0.0', '::', '255.255.255.255']) expect(unbannableReason(parseAddress(text)), text).toBeDefined();
    expect(unbannableReason(parseAddress('192.0.2.9'))).toBeUndefined();
    const w = world('[jails.ssh]\nwindow = "1h"\n');
    expect(admitAddress(w.context, w.jail('ssh'), parseAddress('0.0.0.0'))).toHaveProperty('refused');
    expect(() => parseConfigText('[jails.ssh]\nwindow = "1h"\ndetect = { hitcount = 5, seconds = "200d" }\n', 'attacks.toml')).toThrow(
      /detect\.seconds = "200d": longer than 4294967s \(49d\)/,
    );
  });

  // Clear errors. An empty bans.sqlite (a store cut off while being made) was taken as an empty store:
  // every ban forgotten, silently.
  it('an empty bans.sqlite is refused as damaged, not taken as an empty store', () => {
    const dir = scratchDir('xtban-attacks-');
    writeFileSync(join(dir, 'bans.sqlite'), '');
    expect(() => openBanStore(dir)).toThrow(/the file is damaged/);
  });

  // Clear errors. A page of garbage inside the store was found only when a query reached it.
  it('a bans.sqlite with a garbage page is refused as damaged when opened', () => {
    const dir = scratchDir('xtban-attacks-');
    const store = openBanStore(dir);
    store.ban(
      Array.from({ length: 2000 }, (_, i) => ({
        jail: 'ssh',
        address: `10.0.${i >> 8}.${i & 255}`,
        family: 4 as const,
        source: 'cli',
        reason: null,
        permanent: false,
      })),
      () => [3600],
      1000,
    );
    store.close();
    const path = join(dir, 'bans.sqlite');
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
    const page = Math.floor(bytes.length / pageSize / 2);
    bytes.fill(0xa5, page * pageSize, (page + 1) * pageSize);
    writeFileSync(path, bytes);
    expect(() => openBanStore(dir).close()).toThrow(/the file is damaged/);
  });

  // Clear errors. journald gives a message that is not valid UTF-8 as an array of bytes: a program that
  // logs a raw byte in the user name hid the whole line from the filters.
  it('a journal MESSAGE given as a byte array is decoded and matched', () => {
    const bytes = [...Buffer.from('Invalid user x', 'latin1'), 0xff, ...Buffer.from(' from 203.0.113.5 port 4242', 'latin1')];
    const entry = parseJournalEntry(JSON.stringify({ MESSAGE: bytes, SYSLOG_IDENTIFIER: 'sshd', __REALTIME_TIMESTAMP: '1795228676443000' }));
    expect(entry).toMatchObject({ program: 'sshd', message: 'Invalid user x\ufffd from 203.0.113.5 port 4242' });
    expect(matchMessage(compileFilter(sshdFilter), entry?.program, entry?.message ?? '')).toMatchObject({ kind: 'match', address: { text: '203.0.113.5' } });
  });

  // Found by attacking the defences above. A program that writes the client's text after the address
  // (pam_unix's "rhost=ADDR  user=NAME"), and a pattern that starts with .*: the user name
  // "x rhost=192.0.2.7" put a second address at the end, and that one was taken.
  it('a pattern whose text before <ADDR> can reach past the address is refused when the text after it can hold one', () => {
    const spec = (pattern: string, clientText?: 'anywhere' | 'before-address') => ({
      name: 'app',
      programs: [],
      patterns: [pattern],
      ignore: [],
      ...(clientText ? { clientText } : {}),
    });
    const pam = String.raw`.*authentication failure;.* rhost=<ADDR>(?:  user=\S*)?`;
    const glued = String.raw`.*login failed from=<ADDR>,user=\S+`;
    const bracketed = String.raw`Login failed for .*? from \[<ADDR>\](?: \w+)?(?: \[\S+)?`;
    for (const pattern of [pam, glued, bracketed]) expect(() => compileFilter(spec(pattern))).toThrow(/can reach past the address/);
    // Where two readings remain (a filter that says, wrongly, that clients write only before the
    // address), the message is ambiguous when it runs: neither address is counted.
    const loose = String.raw`Login failed for .*? from \[<ADDR>\](?: \w+)?(?: \[[^ \]]+\])?`;
    const read = compileFilter(spec(loose, 'before-address'));
    expect(matchMessage(read, undefined, 'Login failed for x from [192.0.2.7] from [203.0.113.5]')).toEqual({
      kind: 'ambiguous',
      captured: ['192.0.2.7', '203.0.113.5'],
    });
    expect(matchMessage(read, undefined, 'Login failed for x from [203.0.113.5]')).toMatchObject({ kind: 'match', address: { text: '203.0.113.5' } });
    // The built-in sshd patterns leave a client no second reading: its own failures always count.
    const sshd = compileFilter(sshdFilter);
    for (const user of ['x from 192.0.2.7 port 22 ssh2', 'x from 192.0.2.7', 'from 192.0.2.7 port 22 ssh2 from', 'x rhost=192.0.2.7']) {
      expect(matchMessage(sshd, 'sshd', `Failed password for invalid user ${user} from 203.0.113.5 port 4242 ssh2`)).toMatchObject({
        kind: 'match',
        address: { text: '203.0.113.5' },
      });
      expect(matchMessage(sshd, 'sshd', `Invalid user ${user} from 203.0.113.5 port 4242`)).toMatchObject({ kind: 'match', address: { text: '203.0.113.5' } });
    }
  });

  // Found by attacking the defences above. Placement asked only the store whether an entry was a live
  // ban; the store's activity moves only at reap or status, so an attacker who kept knocking (its
  // entry fresh in the kernel through the --update rule) was taken out of a full list to make room.
  it('a full list never gives up an entry the kernel still enforces, whatever the store says', () => {
    const w = world('[safelist]\nown_addresses = false\n\n[jails.ssh]\nfamily = "ipv4"\nwindow = "1h"\n', 4);
    const now = Date.UTC(2026, 11, 2);
    const ssh = w.jail('ssh');
    let clock = now;
    const at = (ms: number) => {
      clock = ms;
    };
    const timed = { ...w.context };
    const realNow = Date.now;
    Date.now = () => clock;
    try {
      at(now);
      banInProcess(timed, ssh, addresses('203.0.113.66'), { source: 'log', reason: null, permanent: false });
      // 70 minutes of knocking: the store's record ran out at 60, the kernel entry is fresh.
      for (let minute = 1; minute <= 70; minute++) {
        at(now + minute * 60_000);
        w.kernel.packet('xtban-ssh', '203.0.113.66');
      }
      at(now + 71 * 60_000);
      banInProcess(timed, ssh, addresses('198.51.100.1', '198.51.100.2', '198.51.100.3'), { source: 'log', reason: null, permanent: false });
      const next = banInProcess(timed, ssh, addresses('198.51.100.4'), { source: 'log', reason: null, permanent: false });
      expect([...next.placements.values()]).toEqual([{ kind: 'full', lists: ['xtban-ssh'], preferred: 'xtban-ssh' }]);
      expect(w.kernel.entries('xtban-ssh')).toContain('203.0.113.66');
      // Once the attacker is silent for the window, its entry (and only it) may make room.
      at(now + 70 * 60_000 + 3601_000);
      const later = banInProcess(timed, ssh, addresses('198.51.100.5'), { source: 'log', reason: null, permanent: false });
      expect([...later.placements.values()][0]).toMatchObject({ kind: 'placed', evicts: '203.0.113.66' });
    } finally {
      Date.now = realNow;
    }
  });

  // Found by attacking the defences above. A repeat offence whose new tier was full took the address out
  // of its old tier all the same: in neither list, though reported "not placed".
  it('a repeat offence whose new tier is full stays in the tier it is in', () => {
    const w = world('[safelist]\nown_addresses = false\n\n[jails.net]\nfamily = "ipv4"\ntiers = ["10m", "1h"]\n', 4);
    const net = w.jail('net');
    const realNow = Date.now;
    let clock = Date.UTC(2026, 11, 2);
    Date.now = () => clock;
    try {
      const others = addresses('198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4');
      banInProcess(w.context, net, others, { source: 'log', reason: null, permanent: false });
      clock += 11 * 60_000;
      // The four offend again: tier 2 is full of live bans.
      banInProcess(w.context, net, others, { source: 'log', reason: null, permanent: false });
      banInProcess(w.context, net, addresses('203.0.113.66'), { source: 'log', reason: null, permanent: false });
      clock += 11 * 60_000;
      const again = banInProcess(w.context, net, addresses('203.0.113.66'), { source: 'log', reason: null, permanent: false });
      expect([...again.placements.values()][0]).toMatchObject({ kind: 'full' });
      expect(w.kernel.entries('xtban-net.t0')).toContain('203.0.113.66');
    } finally {
      Date.now = realNow;
    }
  });

  // Found by attacking the defences above. A key with "own" rights banned and unbanned an address the
  // firewall's in-kernel detection had caught, and so lifted the firewall's own ban.
  it("a key's unban never lifts the kernel's own detection ban", () => {
    const w = world('[safelist]\nown_addresses = false\n\n[jails.ssh]\nfamily = "ipv4"\nwindow = "1h"\ndetect = { hitcount = 6, seconds = 60 }\n');
    const ssh = w.jail('ssh');
    const detect = (w.context.layouts.get('ssh')?.slots ?? []).find((slot) => slot.role === 'detect')?.name ?? '';
    w.kernel.write(detect, '+203.0.113.66');
    const owner = ownerOf('web1');
    banInProcess(w.context, ssh, addresses('203.0.113.66'), { source: owner, reason: 'remote 198.51.100.9', permanent: false });
    const { ended } = unbanInProcess(w.context, ssh, addresses('203.0.113.66'), owner, { may: (record) => mayEnd(record, 'own', owner) });
    expect(ended).toHaveLength(1);
    expect(w.kernel.entries(detect)).toContain('203.0.113.66');
  });
});
