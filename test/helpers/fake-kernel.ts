// A stand-in for /proc/net/xt_recent that follows the kernel's rules as measured (DESIGN.md): one
// command per write; "+ADDR" adds an entry or stamps an existing one and moves it to the LRU tail; a
// full list (ip_list_tot) drops its least recently used entry to take a new one, silently; "-ADDR" of
// an absent address succeeds; "/" empties the list; a bad address is EINVAL; a missing list ENOENT.
import { parseAddress } from '../../src/core/address.js';
import { listWriteError, type RecentLists } from '../../src/adapters/recent-lists.js';
import type { XtbanError } from '../../src/core/errors.js';
import type { KernelClock } from '../../src/core/jiffies.js';

// The fake's HZ; its jiffies follow Date.now (fake timers move both).
const HZ = 100;

export interface FakeKernel extends RecentLists {
  // What a rule naming the list does: make it (empty) if it is not there.
  create(list: string): void;
  // What removing the last rule naming a list does: the list and its entries are gone.
  destroy(list: string): void;
  // Canonical addresses in a list, in LRU order (least recently used first), or undefined.
  entries(list: string): string[] | undefined;
  // Entries the kernel dropped to make room, ever, by list.
  evictions: { list: string; address: string }[];
  // A packet from the address hits the list's --update rule: the entry is stamped now (its ttl set).
  packet(list: string, address: string): void;
  // The kernel clock now, as the fake keeps it.
  clock(): KernelClock;
  // The jiffies an entry was last seen, or undefined.
  lastSeen(list: string, address: string): number | undefined;
}

const errno = (code: string) => Object.assign(new Error(code), { code });

export function fakeKernel(capacity: number, directory = '/fake/xt_recent'): FakeKernel {
  // list -> canonical address -> last seen (jiffies); a Map keeps insertion order, which is LRU order.
  const lists = new Map<string, Map<string, number>>();
  const epoch = Date.now();
  const base = 4_294_000_000;
  const jiffiesNow = () => base + Math.floor(((Date.now() - epoch) * HZ) / 1000);
  const ttl = new Map<string, number>();
  const evictions: { list: string; address: string }[] = [];

  const apply = (list: string, command: string): void => {
    const entries = lists.get(list);
    if (!entries) throw errno('ENOENT');
    if (command === '/') {
      entries.clear();
      return;
    }
    const sign = command[0];
    let address: string;
    try {
      address = parseAddress(command.slice(1)).text;
    } catch {
      throw errno('EINVAL');
    }
    if (sign === '-') {
      entries.delete(address);
      return;
    }
    if (sign !== '+') throw errno('EINVAL');
    ttl.delete(`${list} ${address}`);
    if (entries.has(address)) {
      entries.delete(address);
    } else if (entries.size >= capacity) {
      const [oldest] = entries.keys();
      if (oldest !== undefined) {
        entries.delete(oldest);
        evictions.push({ list, address: oldest });
      }
    }
    entries.set(address, jiffiesNow());
  };

  const print = (list: string): string | undefined => {
    const entries = lists.get(list);
    if (!entries) return undefined;
    // The kernel prints in hash order, not LRU order: reversed here so nothing depends on the order.
    return [...entries]
      .reverse()
      .map(([address, seen]) => `src=${address} ttl: ${ttl.get(`${list} ${address}`) ?? 0} last_seen: ${seen} oldest_pkt: 1 ${seen}\n`)
      .join('');
  };

  const write = (list: string, command: string): XtbanError | undefined => {
    try {
      apply(list, command);
      return undefined;
    } catch (error) {
      return listWriteError(list, command, directory, error);
    }
  };

  return {
    directory,
    evictions,
    names: async () => [...lists.keys()].sort(),
    read: async (list) => print(list),
    readNow: (list) => print(list),
    write(list, command) {
      const error = write(list, command);
      if (error) throw error;
    },
    writeMany: (writes) => writes.map(({ list, command }) => write(list, command)),
    create(list) {
      if (!lists.has(list)) lists.set(list, new Map());
    },
    destroy(list) {
      lists.delete(list);
    },
    packet(list, address) {
      const entries = lists.get(list);
      if (!entries?.has(address)) return;
      entries.delete(address);
      entries.set(address, jiffiesNow());
      ttl.set(`${list} ${address}`, 64);
    },
    clock: () => ({ hz: HZ, jiffies: jiffiesNow(), wallMs: Date.now(), wordBits: 64, method: { hz: 'fake', jiffies: 'fake' } }),
    lastSeen: (list, address) => lists.get(list)?.get(address),
    entries: (list) => {
      const entries = lists.get(list);
      return entries && [...entries.keys()];
    },
  };
}
