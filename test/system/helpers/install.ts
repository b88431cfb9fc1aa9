// xtban as an administrator installs it: `npm pack` of this checkout, then `npm install -g` of the
// tarball. The container has no network, so the install runs here into a prefix that is copied into
// each container's root (/usr/local, where npm's global prefix is on Debian). Native addons are
// compiled by that install, which takes minutes: the result is kept per tarball (by its SHA-256) in
// node_modules/.cache, so a second run of the suite reuses it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

const project = new URL('../../../', import.meta.url).pathname;
const cache = join(project, 'node_modules', '.cache', 'xtban-system');

// A tree to lay over / with xtban installed globally under usr/local.
export async function stagedInstall(): Promise<string> {
  mkdirSync(cache, { recursive: true });
  const packDir = mkdtempSync(join(cache, 'pack-'));
  try {
    await execa('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: project });
    const tarball = readdirSync(packDir).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack made no tarball');
    const bytes = readFileSync(join(packDir, tarball));
    const stage = join(cache, createHash('sha256').update(bytes).digest('hex').slice(0, 16));
    const done = join(stage, '.installed');
    if (existsSync(done)) return join(stage, 'root');
    rmSync(stage, { recursive: true, force: true });
    mkdirSync(join(stage, 'root', 'usr', 'local'), { recursive: true });
    // Old stages are of older tarballs: one is enough.
    for (const old of readdirSync(cache)) if (/^[0-9a-f]{16}$/.test(old) && join(cache, old) !== stage) rmSync(join(cache, old), { recursive: true, force: true });
    process.stderr.write(`xtban system tests: npm install -g ${tarball} (native addons compile; a few minutes the first time)\n`);
    await execa('npm', ['install', '--global', '--prefix', join(stage, 'root', 'usr', 'local'), '--no-audit', '--no-fund', '--loglevel=error', join(packDir, tarball)], { cwd: packDir, timeout: 15 * 60_000 });
    writeFileSync(done, `${tarball}\n`);
    return join(stage, 'root');
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}
