// What `xtban install` writes, decided from the shipped files and what is already on the host.

// The path every shipped unit and the fail2ban action name the CLI by.
export const SHIPPED_BINARY = '/usr/local/bin/xtban';

export interface ShippedFile {
  // Where it goes on the host.
  target: string;
  // The shipped text, naming the CLI as SHIPPED_BINARY.
  text: string;
  // An administrator's file (the config): written only when missing, never replaced.
  keepExisting: boolean;
  mode: number;
}

export interface InstallStep {
  target: string;
  // write: missing or different; unchanged: already as it would be written; kept: the administrator's own.
  action: 'write' | 'unchanged' | 'kept';
  text: string;
  mode: number;
}

// The CLI's path as the units and the action may name it: absolute and plain (systemd and fail2ban split
// on spaces; a newline would start a directive of its own).
export function validateBinaryPath(binary: string): string {
  if (!/^\/[A-Za-z0-9._/+-]+$/.test(binary))
    throw new Error(`the xtban binary must be an absolute path of letters, digits and . _ / + -: ${JSON.stringify(binary)}`);
  return binary;
}

// A shipped file with the CLI's real path in place of SHIPPED_BINARY (ExecStart=, ExecStartPre=, the
// action's `xtban =`).
export function withBinary(text: string, binary: string): string {
  return text.split(SHIPPED_BINARY).join(validateBinaryPath(binary));
}

// One step per file: what to write, given what each target holds now (undefined: missing).
export function planInstall(files: readonly ShippedFile[], binary: string, existing: ReadonlyMap<string, string | undefined>): InstallStep[] {
  return files.map((file) => {
    const text = withBinary(file.text, binary);
    const now = existing.get(file.target);
    if (now !== undefined && file.keepExisting) return { target: file.target, action: 'kept', text: now, mode: file.mode };
    return { target: file.target, action: now === text ? 'unchanged' : 'write', text, mode: file.mode };
  });
}
