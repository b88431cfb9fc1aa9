import { createRequire } from 'node:module';
import type { Logger as PinoLogger } from 'pino';
import { formatLogLine, resolveLogFormat } from './log-format.js';

// Logs through pino. Commands log to stderr so that stdout stays for results and --json; long-running
// processes pass fd 1 (stdout, for journald). The format (see log-format.ts) is a sentence with journald's
// priority prefix under systemd, a timed sentence elsewhere, or pino's JSON on request. pino itself is
// loaded on the first message at an enabled level, so a command that logs nothing (most of them, at the
// default "warn") never pays for it.
export interface Logger {
  fatal(fields: object | string, message?: string): void;
  error(fields: object | string, message?: string): void;
  warn(fields: object | string, message?: string): void;
  info(fields: object | string, message?: string): void;
  debug(fields: object | string, message?: string): void;
  trace(fields: object | string, message?: string): void;
  child(bindings: object): Logger;
}

const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export function createLogger(
  level: string = process.env['XTBAN_LOG_LEVEL'] ?? 'warn',
  fd: 1 | 2 = 2,
  format: string | undefined = process.env['XTBAN_LOG_FORMAT'],
): Logger {
  const threshold = LEVEL_VALUES[level] ?? LEVEL_VALUES['warn'] ?? 40;
  let root: PinoLogger | undefined;
  const loadRoot = (): PinoLogger => {
    if (!root) {
      const pino = createRequire(import.meta.url)('pino') as typeof import('pino');
      const chosen = resolveLogFormat(format, fd);
      // pino's own destination writes whole lines and waits out EAGAIN: journald's socket is non-blocking
      // once Node has written to it, and falls behind exactly when an attack fills the log.
      const sonic = pino.destination({ fd, sync: true });
      const destination = chosen === 'json' ? sonic : { write: (line: string) => void sonic.write(formatLogLine(line, chosen)) };
      root = pino.pino({ name: 'xtban', level, timestamp: pino.stdTimeFunctions.isoTime }, destination);
    }
    return root;
  };
  const make = (parent: () => PinoLogger, bindings: object | undefined): Logger => {
    let real: PinoLogger | undefined;
    const resolve = () => (real ??= bindings === undefined ? parent() : parent().child(bindings));
    const at = (name: Level) => (fields: object | string, message?: string) => {
      if ((LEVEL_VALUES[name] ?? 0) < threshold) return;
      const logger = resolve();
      if (typeof fields === 'string') logger[name](fields);
      else logger[name](fields, message);
    };
    return {
      fatal: at('fatal'),
      error: at('error'),
      warn: at('warn'),
      info: at('info'),
      debug: at('debug'),
      trace: at('trace'),
      child: (more) => make(resolve, more),
    };
  };
  return make(loadRoot, undefined);
}
