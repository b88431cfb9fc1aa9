// Reads xt_recent's module parameters (list capacity, stamp ring, proc file permissions) from sysfs.
//
// Most of them are mode 0400 (root only); ip_list_uid and ip_list_gid are world-readable. What cannot be
// read falls back to the kernel's own defaults, and `source` says so.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, XtbanError } from '../core/errors.js';
import type { ModuleLoading } from '../core/list-size.js';

export interface ModuleParameters {
  /** entries per list; the least recently used entry is evicted beyond it */
  ipListTot: number;
  /** 0 on current kernels: the stamp ring size then comes from the rules (see stampRingSize) */
  ipPktListTot: number;
  /** hash buckets per list; the module sets it to 1 << fls(ip_list_tot) at load */
  ipListHashSize: number;
  /** mode of new /proc/net/xt_recent files */
  ipListPerms: number;
  ipListUid: number;
  ipListGid: number;
  /** where the values came from, e.g. '/sys/module/xt_recent/parameters' or 'defaults (... unreadable: EACCES)' */
  source: string;
  /** built in (sysfs has the module's parameters but no initstate), a loaded module, or not loaded */
  loading: ModuleLoading;
}

type Key = Exclude<keyof ModuleParameters, 'source' | 'loading'>;

const FILES: ReadonlyArray<readonly [Key, string]> = [
  ['ipListTot', 'ip_list_tot'],
  ['ipPktListTot', 'ip_pkt_list_tot'],
  ['ipListHashSize', 'ip_list_hash_size'],
  ['ipListPerms', 'ip_list_perms'],
  ['ipListUid', 'ip_list_uid'],
  ['ipListGid', 'ip_list_gid'],
];

// fls(x): position of the most significant set bit, 1-based (fls(100) = 7).
function fls(x: number): number {
  return x <= 0 ? 0 : Math.floor(Math.log2(x)) + 1;
}

// The kernel's defaults (net/netfilter/xt_recent.c as of 6.18, measured): ip_pkt_list_tot is 0 ("retained
// for backwards compatibility"; the ring is sized per list), and the hash size is derived from ip_list_tot.
export const KERNEL_DEFAULTS: Readonly<Record<Key, number>> = {
  ipListTot: 100,
  ipPktListTot: 0,
  ipListHashSize: 1 << fls(100),
  ipListPerms: 0o644,
  ipListUid: 0,
  ipListGid: 0,
};

function roundupPowerOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

// Stamps kept per entry for a list whose largest --hitcount is hitCount (recent_mt_check): a power of two,
// 32 when neither ip_pkt_list_tot nor any --hitcount asks for more. A rule that needs a bigger ring than
// the list has flushes the list when it is added (measured on 6.18).
export function stampRingSize(ipPktListTot: number, hitCount = 0): number {
  if (ipPktListTot > 0 && hitCount < ipPktListTot) return roundupPowerOfTwo(ipPktListTot);
  if (hitCount > 0) return roundupPowerOfTwo(hitCount);
  return 32;
}

// Reads all six parameters; unreadable ones (not root, module not loaded) take the kernel's defaults.
export async function readModuleParameters(sysRoot = '/sys'): Promise<ModuleParameters> {
  const dir = join(sysRoot, 'module', 'xt_recent', 'parameters');
  const values: Record<Key, number> = { ...KERNEL_DEFAULTS };
  const unreadable: string[] = [];
  const codes = new Set<string>();
  const results = await Promise.all(
    FILES.map(async ([key, file]) => {
      try {
        return { key, file, text: await readFile(join(dir, file), 'latin1') };
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        return { key, file, code: typeof code === 'string' ? code : String(error) };
      }
    }),
  );
  for (const result of results) {
    if (result.text === undefined) {
      unreadable.push(result.file);
      codes.add(result.code ?? 'unknown error');
      continue;
    }
    const text = result.text.trim();
    if (!/^\d{1,10}$/.test(text)) {
      throw new XtbanError(`${join(dir, result.file)}: expected an unsigned integer, got ${JSON.stringify(text.slice(0, 40))}`, {
        exitCode: ExitCode.system,
      });
    }
    values[result.key] = Number(text);
  }
  const module = join(sysRoot, 'module', 'xt_recent');
  const loading: ModuleLoading = existsSync(join(module, 'initstate')) ? 'module' : existsSync(module) ? 'builtin' : 'absent';
  if (unreadable.length === 0) return { ...values, source: dir, loading };
  // The module derives the hash size from the list size, which may have been read even if the hash size was not.
  if (unreadable.includes('ip_list_hash_size') && !unreadable.includes('ip_list_tot')) {
    values.ipListHashSize = 1 << fls(values.ipListTot);
  }
  const read = FILES.map(([, file]) => file).filter((file) => !unreadable.includes(file));
  const defaults = `defaults (${unreadable.join(', ')} unreadable: ${[...codes].join(', ')})`;
  return { ...values, source: read.length === 0 ? defaults : `${dir} (${read.join(', ')}); ${defaults}`, loading };
}
