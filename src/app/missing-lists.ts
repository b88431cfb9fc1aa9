import type { RecentLists } from '../adapters/recent-lists.js';
import type { ListSlot } from '../core/layout.js';

// The slots among these whose list the kernel does not have (a list exists only while a rule names it):
// what ban, flush, apply, check and the daemon's repair all need to know, asked in one place.
export async function missingSlots<T extends Pick<ListSlot, 'name'>>(lists: RecentLists, slots: readonly T[]): Promise<T[]> {
  const present = new Set(await lists.names());
  const seen = new Set<string>();
  return slots.filter((slot) => {
    if (present.has(slot.name) || seen.has(slot.name)) return false;
    seen.add(slot.name);
    return true;
  });
}
