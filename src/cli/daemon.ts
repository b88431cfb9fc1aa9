import { runDaemon } from '../daemon/daemon.js';
import type { DaemonOptions } from './commands.js';

// `xtban daemon`: runs until SIGTERM or SIGINT, then exits at once (no lingering watchers or sockets).
export async function daemonCommand(options: DaemonOptions): Promise<number> {
  const code = await runDaemon(options);
  process.exit(code);
}
