import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Firewall } from '../../src/adapters/firewall.js';
import type { Family } from '../../src/core/address.js';

// A saved table from a directory (filter-4.rules, filter-6.rules); restores are kept in memory: apply's
// planning against captured tables, without root.
export function fixtureFirewall(directory: string): Firewall & { restored: { family: Family; script: string }[] } {
  const restored: { family: Family; script: string }[] = [];
  return {
    description: `fixture ${directory}`,
    restored,
    async save(family) {
      try {
        return await readFile(join(directory, `filter-${family}.rules`), 'utf8');
      } catch {
        return '';
      }
    },
    async restore(family, script) {
      restored.push({ family, script });
    },
  };
}
