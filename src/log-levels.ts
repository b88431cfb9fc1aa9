// The levels --log-level accepts; apart from logger.ts so that parsing the command line never loads pino.
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
