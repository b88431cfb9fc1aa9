import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from './atomic-file.js';
import type { Family } from '../core/address.js';

// The chains this state directory's apply put in place, per family (applied-chains.json): only these
// are xtban's to remove once their jail leaves the config. A chain of the same look made by someone
// else (an administrator's "xtban-allow", another config with its own state directory) is never touched.
export interface AppliedChains {
  get(family: Family): ReadonlySet<string>;
  set(family: Family, chains: readonly string[]): void;
}

// Nothing recorded, nothing remembered: removes nothing (tests, dry runs).
export function noAppliedChains(): AppliedChains {
  return { get: () => new Set(), set: () => undefined };
}

export function appliedChainsFile(stateDir: string): AppliedChains {
  const path = join(stateDir, 'applied-chains.json');
  const read = (): Record<string, string[]> => {
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, string[]>) : {};
    } catch {
      return {};
    }
  };
  return {
    get: (family) => {
      const chains: unknown = read()[String(family)];
      return new Set(Array.isArray(chains) ? chains.filter((chain): chain is string => typeof chain === 'string') : []);
    },
    set(family, chains) {
      const all = read();
      const sorted = [...new Set(chains)].sort();
      if (JSON.stringify(all[String(family)] ?? []) === JSON.stringify(sorted)) return;
      all[String(family)] = sorted;
      // Synced: lost, it would leave chains of xtban's that no later apply removes.
      writeFileAtomicSync(path, `${JSON.stringify(all)}\n`, { mode: 0o600, fsync: true });
    },
  };
}
