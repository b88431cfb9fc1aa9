import { describe, expect, it } from 'vitest';
import { diagnose, sshArguments } from '../../src/adapters/remote.js';

const target = {
  name: 'fw',
  host: 'fw.example.net',
  port: 2222,
  user: 'xtban',
  key: '/etc/xtban/id_ed25519',
  knownHosts: '/etc/xtban/known_hosts',
  strictHostKeyChecking: true,
};

describe('ssh arguments', () => {
  it('checks host keys, never prompts, reuses one master connection and ends options before the host', () => {
    const args = sshArguments(target, '/var/lib/xtban');
    expect(args).toContain('BatchMode=yes');
    expect(args).toContain('StrictHostKeyChecking=yes');
    expect(args).toContain('ControlPath=/var/lib/xtban/ssh-%C');
    expect(args.slice(-2)).toEqual(['--', 'fw.example.net']);
    expect(args.join(' ')).toContain('-p 2222 -l xtban -i /etc/xtban/id_ed25519 -o IdentitiesOnly=yes -o UserKnownHostsFile=/etc/xtban/known_hosts');
    expect(sshArguments({ ...target, strictHostKeyChecking: false }, undefined)).toContain('StrictHostKeyChecking=accept-new');
  });

  it('says what to fix for each ssh failure', () => {
    expect(diagnose('Host key verification failed.')).toContain('known_hosts');
    expect(diagnose('root@fw: Permission denied (publickey).')).toContain('authorized_keys');
    expect(diagnose('ssh: connect to host 198.51.100.1 port 2222: Connection refused')).toContain('is sshd running');
    expect(diagnose('ssh: connect to host 198.51.100.1 port 22: Connection timed out')).toContain('unreachable');
  });
});
