import { execa } from 'execa';
import type { Family } from '../core/address.js';
import { ExitCode, XtbanError } from '../core/errors.js';
import type { Backend } from '../core/domain.js';

// The two things xtban asks of iptables: read the filter table, apply a batch atomically.
export interface Firewall {
  readonly description: string;
  save(family: Family): Promise<string>;
  restore(family: Family, script: string): Promise<void>;
}

// Binary names per backend: "auto" follows the system's alternatives (nft on Debian 12).
export function firewallCommands(backend: Backend, family: Family): { save: string; restore: string } {
  const base = family === 4 ? 'iptables' : 'ip6tables';
  const variant = backend === 'auto' ? base : `${base}-${backend}`;
  return { save: `${variant}-save`, restore: `${variant}-restore` };
}

function toolError(command: string, error: unknown): XtbanError {
  const failure = error as { code?: string; stderr?: string; shortMessage?: string; exitCode?: number };
  if (failure.code === 'ENOENT') {
    return new XtbanError(`${command} is not installed`, {
      exitCode: ExitCode.system,
      hint: 'install iptables (Debian: apt-get install iptables), or set [firewall] backend',
    });
  }
  const stderr = (failure.stderr ?? '').trim();
  const permission = /Permission denied|you must be root/i.test(stderr);
  return new XtbanError(
    `${command} failed${failure.exitCode === undefined ? '' : ` (exit ${failure.exitCode})`}: ${stderr || failure.shortMessage || String(error)}`,
    {
      exitCode: ExitCode.system,
      hint: permission ? 'run as root (iptables needs CAP_NET_ADMIN)' : undefined,
      cause: error,
    },
  );
}

// The real thing: iptables-save -t filter and iptables-restore --noflush on stdin, never a shell.
export function systemFirewall(backend: Backend): Firewall {
  return {
    description: `iptables (${backend} backend)`,
    async save(family) {
      const { save } = firewallCommands(backend, family);
      try {
        const result = await execa(save, ['-t', 'filter'], { stripFinalNewline: false });
        return result.stdout;
      } catch (error) {
        throw toolError(save, error);
      }
    },
    async restore(family, script) {
      const { restore } = firewallCommands(backend, family);
      try {
        await execa(restore, ['-w', '5', '--noflush'], { input: script });
      } catch (error) {
        throw toolError(restore, error);
      }
    },
  };
}

// Reads the real table but only prints what it would restore: `apply --dry-run`.
export function dryRunFirewall(reader: Firewall, print: (family: Family, script: string) => void): Firewall {
  return {
    description: `${reader.description}, dry run`,
    save: (family) => reader.save(family),
    async restore(family, script) {
      print(family, script);
    },
  };
}
