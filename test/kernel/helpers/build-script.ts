import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

// Bundles a test helper script (TypeScript importing src/) into one ES module that node runs inside a
// namespace, as scripts/bundle.mjs builds dist/: native addons stay outside and load from node_modules.
// It lands under node_modules/.cache, so those addons resolve from the project's node_modules.
export async function buildScript(entry: string, name: string): Promise<string> {
  const dir = join(ROOT, 'node_modules', '.cache', 'xtban-test-scripts');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `${name}-${process.pid}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['better-sqlite3', 're2', 'fs-ext', 'pino'],
    banner: { js: "import { createRequire as __testCreateRequire } from 'node:module'; const require = __testCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  return outfile;
}
