import type { Config, JailConfig } from './domain.js';
import { inputError } from './errors.js';
import { validateJailName } from './names.js';

// The tier windows of each jail by name, as the store's ban planning asks for them.
export function tierWindowsOf(config: Config): (jail: string) => readonly number[] {
  return (jail) => config.jails.find((candidate) => candidate.name === jail)?.tierWindows ?? [];
}

// --jail J picks one jail (which must exist); without it, every jail.
export function selectJails(config: Config, jail: string | undefined): JailConfig[] {
  if (jail === undefined) return config.jails;
  validateJailName(jail, '--jail');
  const found = config.jails.find((candidate) => candidate.name === jail);
  if (!found) {
    throw inputError(`--jail: no jail named ${JSON.stringify(jail)} in ${config.source}`, `configured jails: ${config.jails.map((j) => j.name).join(', ')}`);
  }
  return [found];
}
