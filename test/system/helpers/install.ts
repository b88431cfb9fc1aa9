// xtban as an administrator installs it: `npm pack` of this checkout, then `npm install -g` of the
// tarball. The container has no network, so the install runs here into a prefix that is copied into
// each container's root (/usr/local, where npm's global prefix is on Debian). Native addons are
// compiled by that install, which takes minutes: the result is kept in node_modules/.cache per set of
// dependencies, and a later tarball with the same ones is laid over it (a fresh clone, as in CI, always
// runs the real install).
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';

const project = new URL('../../../', import.meta.url).pathname;
const cache = join(project, 'node_modules', '.cache', 'xtban-system');

// A tree to lay over / with xtban installed globally under usr/local.
export async function stagedInstall(): Promise<string> {
  mkdirSync(cache, { recursive: true });
  // The compiled addons depend on the dependencies alone: one real install per set of them.
  const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { dependencies?: object };
  const dependencies = createHash('sha256')
    .update(JSON.stringify(manifest.dependencies ?? {}))
    .update(readFileSync(join(project, 'package-lock.json')))
    .digest('hex')
    .slice(0, 16);
  const stage = join(cache, dependencies);
  const root = join(stage, 'root');
  const packDir = mkdtempSync(join(cache, 'pack-'));
  try {
    // npm pack builds dist/ first (prepack), so the tarball is of this checkout as it is.
    await execa('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: project });
    const tarball = readdirSync(packDir).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack made no tarball');
    const digest = createHash('sha256')
      .update(readFileSync(join(packDir, tarball)))
      .digest('hex');
    const done = join(stage, '.installed');
    const installed = existsSync(done) ? readFileSync(done, 'utf8').trim() : undefined;
    if (installed === digest) return root;
    if (installed !== undefined) {
      // Same dependencies, newer package: its files over the installed ones, node_modules kept, as
      // `npm install -g` of the newer tarball would leave them (it would only compile the addons again).
      const packageDir = join(root, 'usr', 'local', 'lib', 'node_modules', 'xtban');
      await execa('tar', ['-xzf', join(packDir, tarball), '-C', packDir]);
      for (const entry of readdirSync(packageDir)) if (entry !== 'node_modules') rmSync(join(packageDir, entry), { recursive: true, force: true });
      for (const entry of readdirSync(join(packDir, 'package'))) cpSync(join(packDir, 'package', entry), join(packageDir, entry), { recursive: true });
      writeFileSync(done, `${digest}\n`);
      return root;
    }
    for (const old of readdirSync(cache)) if (old !== basename(packDir)) rmSync(join(cache, old), { recursive: true, force: true });
    mkdirSync(join(root, 'usr', 'local'), { recursive: true });
    process.stderr.write(`xtban system tests: npm install -g ${tarball} (native addons compile: a few minutes)\n`);
    await execa('npm', ['install', '--global', '--prefix', join(root, 'usr', 'local'), '--no-audit', '--no-fund', '--loglevel=error', join(packDir, tarball)], {
      cwd: packDir,
      timeout: 15 * 60_000,
    });
    writeFileSync(done, `${digest}\n`);
    return root;
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}
