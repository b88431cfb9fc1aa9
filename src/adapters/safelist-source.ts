import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { parseNetwork } from '../core/address.js';
import { XtbanError, ExitCode } from '../core/errors.js';
import { parseSafelistText, type SafeEntry, type Safelist } from '../core/safelist.js';
import type { SafelistConfig } from '../core/domain.js';

// Loopback is always the host's own.
const LOOPBACK = ['127.0.0.0/8', '::1'];

// The host's interface addresses as seen from this network namespace.
export function ownAddresses(): SafeEntry[] {
  const entries: SafeEntry[] = LOOPBACK.map((cidr) => ({ network: parseNetwork(cidr), origin: 'loopback' }));
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.address.includes('%')) continue;
      try {
        entries.push({ network: parseNetwork(address.address.split('%')[0] ?? ''), origin: `own address on ${name}` });
      } catch {
        // An address the kernel reports but xtban cannot parse cannot be banned either.
      }
    }
  }
  return entries;
}

// The entries the config file itself names (safelist.addresses), with where each was declared.
export function configuredEntries(config: SafelistConfig, source: string): SafeEntry[] {
  return config.addresses.map((text, index) => ({ network: parseNetwork(text), origin: `${source} safelist.addresses[${index}]` }));
}

// Reads the safelist afresh (every command: a change takes effect on the next one).
export async function loadSafelist(config: SafelistConfig, source: string): Promise<Safelist> {
  const entries: SafeEntry[] = configuredEntries(config, source);
  for (const file of config.files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new XtbanError(`safelist file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
        exitCode: ExitCode.usage,
        hint: 'create it, fix its permissions, or remove it from safelist.files: a missing safelist is never taken as empty',
      });
    }
    entries.push(...parseSafelistText(text, file));
  }
  if (config.ownAddresses) entries.push(...ownAddresses());
  return { entries };
}
