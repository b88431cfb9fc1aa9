// Exit codes are a contract with scripts and fail2ban's actioncheck: keep them stable.
export const ExitCode = {
  ok: 0,
  // A check found something missing, or only part of a batch succeeded.
  partial: 1,
  // Bad command line, address, name, duration or config file: nothing was written.
  usage: 2,
  // The kernel or iptables refused or failed.
  system: 3,
  // The address is safelisted: refused on purpose.
  safelisted: 4,
  // An error xtban did not expect: a bug, never "the kernel refused" (sysexits' EX_SOFTWARE).
  bug: 70,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

// One error type for everything the user should read: what was wrong, where, and what to do.
export class XtbanError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;

  constructor(message: string, options: { exitCode?: ExitCodeValue; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'XtbanError';
    this.exitCode = options.exitCode ?? ExitCode.usage;
    this.hint = options.hint;
  }
}

// Bad input from the user: exit 2, nothing written.
export function inputError(message: string, hint?: string): XtbanError {
  return new XtbanError(message, { exitCode: ExitCode.usage, ...(hint === undefined ? {} : { hint }) });
}
