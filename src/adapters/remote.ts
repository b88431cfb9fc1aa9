import type { RemoteTarget } from '../core/domain.js';

// The ssh command line for a target: batch mode (never a prompt), host keys checked, one master
// connection per target reused for a minute (ControlMaster), the forced command on the far side.
export function sshArguments(target: RemoteTarget, controlDir: string | undefined): string[] {
  const args = [
    '-T',
    '-o',
    'BatchMode=yes',
    '-o',
    `StrictHostKeyChecking=${target.strictHostKeyChecking ? 'yes' : 'accept-new'}`,
    '-o',
    'ConnectTimeout=5',
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=2',
  ];
  if (controlDir !== undefined) args.push('-o', 'ControlMaster=auto', '-o', `ControlPath=${controlDir}/ssh-%C`, '-o', 'ControlPersist=60');
  if (target.port !== undefined) args.push('-p', String(target.port));
  if (target.user !== undefined) args.push('-l', target.user);
  if (target.key !== undefined) args.push('-i', target.key, '-o', 'IdentitiesOnly=yes');
  if (target.knownHosts !== undefined) args.push('-o', `UserKnownHostsFile=${target.knownHosts}`);
  // "--" ends the options: the host can never be read as one.
  args.push('--', target.host);
  return args;
}

export type Exchange = { ok: true; answers: string[] } | { ok: false; failure: string; answers: string[] };

// Sends request lines to `xtban serve` on the target in one ssh session and returns its answers.
export async function exchange(target: RemoteTarget, lines: readonly string[], controlDir: string | undefined, timeoutMs = 30_000): Promise<Exchange> {
  // Loaded here, not at the top: `xtban ban` imports this module and usually sends nothing.
  const { execa } = await import('execa');
  const result = await execa(process.env['XTBAN_SSH'] ?? 'ssh', sshArguments(target, controlDir), {
    input: lines.length === 0 ? '' : `${lines.join('\n')}\n`,
    reject: false,
    timeout: timeoutMs,
    stripFinalNewline: true,
  });
  const answers = result.stdout === '' ? [] : String(result.stdout).split('\n');
  if (result.exitCode === 0 && answers.length >= lines.length) return { ok: true, answers };
  const stderr = String(result.stderr ?? '').trim();
  return {
    ok: false,
    failure: stderr || (result.timedOut ? `no answer within ${timeoutMs} ms` : `ssh exited ${result.exitCode ?? result.signal ?? '?'}`),
    answers,
  };
}

// Turns an ssh failure into what to fix.
export function diagnose(failure: string): string {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(failure)) {
    return "the host key is unknown or changed: add the firewall's key to known_hosts (ssh-keyscan, checked by hand) or set known_hosts";
  }
  if (/Permission denied/i.test(failure))
    return 'the key was refused: put its public half in the firewall\'s authorized_keys with command="xtban serve --jails ..."';
  if (/Connection refused/i.test(failure)) return 'nothing listens on the ssh port: is sshd running on the firewall, and the port right?';
  if (/timed out|No route to host|Network is unreachable/i.test(failure)) return 'the firewall is unreachable: check the address and the network path';
  if (/Could not resolve hostname/i.test(failure)) return 'the host name does not resolve: use an address or an ssh_config Host alias';
  return 'see the ssh message above';
}
