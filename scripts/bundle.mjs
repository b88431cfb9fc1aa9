// Builds dist/: one ES module bundle per command (code-split), so a command loads a few files instead of
// hundreds of modules. Native addons stay outside the bundle and load from node_modules.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  // The scan worker is an entry of its own: a worker thread starts from a file.
  entryPoints: { main: 'src/main.ts', 'scan-worker': 'src/app/scan-worker.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Native addons, and pino, which commands load only when they log (see src/logger.ts).
  external: ['better-sqlite3', 're2', 'fs-ext', 'pino'],
  // Bundled CommonJS code calls require(): give the ES module bundle one.
  banner: { js: "import { createRequire as __xtbanCreateRequire } from 'node:module'; const require = __xtbanCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
