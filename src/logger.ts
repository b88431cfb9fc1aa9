import { destination, pino, stdTimeFunctions, type Logger } from 'pino';

export type { Logger };


// Structured JSON logs. Commands log to stderr so that stdout stays for results and --json;
// long-running processes pass fd 1 (stdout, for journald).
export function createLogger(level: string = process.env['XTBAN_LOG_LEVEL'] ?? 'warn', fd: 1 | 2 = 2): Logger {
  return pino({ name: 'xtban', level, timestamp: stdTimeFunctions.isoTime }, destination({ fd, sync: true }));
}
