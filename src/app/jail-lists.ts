import type { JailConfig } from '../core/domain.js';
import type { ListSlot } from '../core/layout.js';
import { parseRecentList, type RecentEntry } from '../core/proc-format.js';
import type { Ports } from './ports.js';

// One list of a jail as read now: its entries, or undefined when the list does not exist.
export interface JailList {
  jail: JailConfig;
  slot: ListSlot;
  entries: RecentEntry[] | undefined;
}

// Every list of these jails, read once and parsed (restore, bans and reap start from this).
export async function readJailLists(context: Ports, jails: readonly JailConfig[]): Promise<JailList[]> {
  const slots = jails.flatMap((jail) => (context.layouts.get(jail.name)?.slots ?? []).map((slot) => ({ jail, slot })));
  // Reads issued together (an adapter that reads through the thread pool overlaps them), parsed in order.
  const texts = await Promise.all(slots.map(({ slot }) => context.lists.read(slot.name)));
  return slots.map(({ jail, slot }, index) => {
    const text = texts[index];
    return { jail, slot, entries: text === undefined ? undefined : parseRecentList(text, `${context.lists.directory}/${slot.name}`) };
  });
}
