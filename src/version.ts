import { readFileSync } from 'node:fs';

let version: string | undefined;

// This xtban's version, from its package.json (one directory above src/ and above dist/ alike): what
// --version prints, and what keys the config cache, so a cache from another version is never read.
export function packageVersion(): string {
  if (version === undefined) {
    try {
      const parsed = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      version = typeof parsed.version === 'string' ? parsed.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
