// A reaper pass with a pause between its plan and its writes, run inside a test's namespace: the kernel
// test bans the address again during the pause and proves the re-check spares it. The pause is
// injected here (runReap's pauseMs), so no hook for it lives in src/.
// Usage: node reap-paused.mjs CONFIG STATE_DIR PAUSE_MS  (built by buildReapPaused below)
import { portsFor } from '../../../src/app/ports.js';
import { runReap } from '../../../src/app/reap.js';
import { reapJson } from '../../../src/cli/reap.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/logger.js';

const [configPath = '', stateDir = '', pause = '0'] = process.argv.slice(2);
const config = await loadConfig(configPath);
const ports = await portsFor(config, createLogger('silent'), { stateDir });
try {
  const report = await runReap(ports, config.jails, { dryRun: false, pauseMs: Number(pause) });
  process.stdout.write(`${JSON.stringify(reapJson(report))}\n`);
} finally {
  ports.closeStore();
}
