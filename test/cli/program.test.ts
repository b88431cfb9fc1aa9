import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/program.js';
import { BUILTIN_FILTERS } from '../../src/core/filters/index.js';
import { scratchDir } from '../helpers/scratch.js';

const example = new URL('../../fixtures/config/example.toml', import.meta.url).pathname;
const fixtures = new URL('../../fixtures/proc', import.meta.url).pathname;

let stdout = '';
let stderr = '';

beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const xtban = (...args: string[]) => main(['node', 'xtban', ...args]);

describe('log settings', () => {
  it('refuses an unknown --log-format, and a typo in XTBAN_LOG_FORMAT or XTBAN_LOG_LEVEL, with exit 2', async () => {
    expect(await xtban('--log-format', 'xml', 'config', 'check')).toBe(2);
    for (const [name, value] of [
      ['XTBAN_LOG_FORMAT', 'jsno'],
      ['XTBAN_LOG_LEVEL', 'verbose'],
    ] as const) {
      vi.stubEnv(name, value);
      stderr = '';
      expect(await xtban('--config', example, 'config', 'check')).toBe(2);
      expect(stderr).toContain(`${name}="${value}" is not one of`);
      vi.unstubAllEnvs();
    }
    expect(await xtban('--log-format', 'json', '--config', example, 'config', 'check')).toBe(0);
  });
});

describe('command line', () => {
  it('shows help with examples and exit codes, exit 0', async () => {
    expect(await xtban('--help')).toBe(0);
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('Exit codes:');
    // Each command as the first word of its own line of the Commands list ("ban" must not be found in "unban").
    const listed = new Set([...stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((match) => match[1]));
    for (const command of [
      'apply',
      'teardown',
      'check',
      'ban',
      'unban',
      'flush',
      'restore',
      'bans',
      'status',
      'config',
      'scan',
      'serve',
      'daemon',
      'reap',
      'remote',
      'install',
    ])
      expect(listed, command).toContain(command);
  });

  it('gives every command help with examples', async () => {
    for (const command of [
      ['apply'],
      ['teardown'],
      ['check'],
      ['ban'],
      ['unban'],
      ['flush'],
      ['restore'],
      ['bans'],
      ['status'],
      ['config', 'check'],
      ['config', 'show'],
    ]) {
      stdout = '';
      expect(await xtban(...command, '--help')).toBe(0);
      expect(stdout, command.join(' ')).toMatch(/Examples:\n {2}\$ xtban /);
    }
  });

  it('exits 2 on an unknown command or option', async () => {
    expect(await xtban('bann', '192.0.2.7')).toBe(2);
    expect(stderr).toContain("unknown command 'bann'");
    expect(await xtban('ban', '--bogus', '192.0.2.7')).toBe(2);
    expect(await xtban('ban')).toBe(2);
    expect(stderr).toContain("missing required argument 'address'");
  });

  it.each([
    ['1.2.3.256', 'not a valid IP address'],
    ['1.2.3.4/24', 'a single address is expected'],
    ['1.2.3.4\n+5.6.7.8', 'whitespace or control characters'],
    ['fe80::1%eth0', 'zone index'],
    ['', 'empty address'],
    ['host.example.com', 'not a valid IP address'],
    ['0.0.0.0', 'the unspecified address, which no host sends from; nothing was banned'],
    ['::', 'the unspecified address'],
    ['255.255.255.255', 'the broadcast address'],
    ['::ffff:255.255.255.255', 'the broadcast address'],
  ])('ban %j: exit 2 with the reason, before touching any list', async (address, reason) => {
    expect(await xtban('--config', example, 'ban', '192.0.2.1', address)).toBe(2);
    expect(stderr).toContain(reason);
    expect(stderr).toContain('address 2');
    expect(stdout).toBe('');
  });

  it.each([
    ['my jail', 'not a valid jail name'],
    ['ssh;reboot', 'not a valid jail name'],
    ['a'.repeat(23), '28-character iptables chain name'],
    ['nope', 'no jail named "nope"'],
  ])('--jail %j: exit 2', async (jail, reason) => {
    expect(await xtban('--config', example, 'ban', '192.0.2.1', '--jail', jail)).toBe(2);
    expect(stderr).toContain(reason);
  });

  it('refuses a bad --source or --reason before anything else', async () => {
    expect(await xtban('--config', example, 'ban', '192.0.2.1', '--source', 'Bad Source;')).toBe(2);
    expect(stderr).toContain('--source: "Bad Source;" is not a source name');
    expect(await xtban('--config', example, 'ban', '192.0.2.1', '--reason', 'line\nbreak')).toBe(2);
    expect(stderr).toContain('--reason: at most 200 printable characters');
  });

  it('refuses an IPv6 address for an IPv4-only jail', async () => {
    expect(await xtban('--config', example, 'ban', '2001:db8::1', '--jail', 'web')).toBe(2);
    expect(stderr).toContain('2001:db8::1 is IPv6, but jail web takes IPv4 only');
  });

  it('config check: exit 0 for a good file, 2 with the key path for a bad one', async () => {
    expect(await xtban('--config', example, 'config', 'check')).toBe(0);
    expect(stdout).toContain('is valid (2 jails: ssh, web)');
    const bad = new URL('../../fixtures/config/typo.toml', import.meta.url).pathname;
    expect(await xtban('--config', bad, 'config', 'check')).toBe(2);
    expect(stderr).toContain('jails.ssh.windw: unknown key');
    stdout = '';
    expect(await xtban('--config', bad, 'config', 'check', '--json')).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, source: bad });
  });

  it('config check: exit 2 for a safelist file every command would fail on, missing or broken', async () => {
    const dir = scratchDir('xtban-check-');
    const { writeFileSync } = await import('node:fs');
    const config = `${dir}/xtban.toml`;
    writeFileSync(config, `[safelist]\nfiles = ["${dir}/safe.txt"]\n\n[jails.ssh]\nports = [22]\n`);
    expect(await xtban('--config', config, 'config', 'check')).toBe(2);
    expect(stderr).toContain(`safelist file ${dir}/safe.txt cannot be read (ENOENT)`);
    writeFileSync(`${dir}/safe.txt`, '192.0.2.0/24\nnot-an-address\n');
    stderr = '';
    expect(await xtban('--config', config, 'config', 'check')).toBe(2);
    expect(stderr).toContain('safe.txt:2');
    writeFileSync(`${dir}/safe.txt`, '192.0.2.0/24\n');
    expect(await xtban('--config', config, 'config', 'check')).toBe(0);
  });

  it('config show prints the effective config as TOML and JSON', async () => {
    expect(await xtban('--config', example, 'config', 'show')).toBe(0);
    expect(stdout).toContain('[jails.web]');
    expect(stdout).toContain('hooks = [ "INPUT", "FORWARD" ]');
    stdout = '';
    expect(await xtban('--config', example, 'config', 'show', '--json')).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ jails: { ssh: { window_seconds: 3600, list: 'xtban-ssh' } } });
  });

  it('uses XTBAN_CONFIG when --config is absent', async () => {
    vi.stubEnv('XTBAN_CONFIG', '/nonexistent/from-env.toml');
    expect(await xtban('config', 'check')).toBe(2);
    expect(stderr).toContain('config /nonexistent/from-env.toml does not exist');
    vi.unstubAllEnvs();
  });

  it('status reads captured lists without root', async () => {
    const code = await xtban('--config', example, 'status', '--json', '--proc', `${fixtures}/net/xt_recent`, '--clock', fixtures, '--sys', `${fixtures}/sys`);
    const report = JSON.parse(stdout);
    expect(report.clock.hz).toBe(250);
    expect(report.clock.method).toEqual({ hz: 'config.gz', jiffies: 'timer_list' });
    expect(report.capacity.ipListTot).toBe(100);
    // The example's jails have no captured lists (exit 1: missing), the captured ones are shown as lists without a jail.
    expect(code).toBe(1);
    const full = report.lists.find((list: { list: string }) => list.list === 'full');
    expect(full).toMatchObject({ jail: null, used: 100, capacity: 100, usePercent: 100 });
    expect(report.warnings.join('\n')).toContain('list full is 100% full');
  });

  it('status prints a table per list with live and stale entries', async () => {
    const captured = new URL('../../fixtures/config/captured.toml', import.meta.url).pathname;
    vi.stubEnv('TZ', 'UTC');
    const code = await xtban('--config', captured, 'status', '--proc', `${fixtures}/net/xt_recent`, '--clock', fixtures, '--sys', `${fixtures}/sys`);
    vi.unstubAllEnvs();
    expect(code).toBe(0);
    expect(stdout).toContain('kernel clock: HZ 250 (from config.gz), jiffies 4294974736 (from timer_list)');
    expect(stdout).toContain('jail web  list ipv4  window 6s\n  used 4/100 (4%, 96 free)  live 2  stale 2');
    expect(stdout).toMatch(/ADDRESS +LAST SEEN +AGE +LEFT +HITS +TTL +STATE/);
    expect(stdout).toMatch(/192\.0\.2\.10 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +5s +1s +3 +0 +live/);
    expect(stdout).toContain('list full (no jail)');
    expect(stderr).toContain('warning: list full is 100% full');
    // Another tool's list: no jail's capacity would make it room.
    expect(stderr).not.toContain('make room');
  });

  it('scan reports matches per address and who would be banned, without a config', async () => {
    const log = new URL('../../fixtures/logs/sshd-openssh9.log', import.meta.url).pathname;
    vi.stubEnv('XTBAN_CONFIG', '');
    expect(await xtban('--config', example, 'scan', log, '--maxretry', '2', '--findtime', '1h', '--json')).toBe(0);
    vi.unstubAllEnvs();
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      filter: 'sshd',
      mode: 'normal',
      lines: 20,
      matched: 15,
      missed: 5,
      ignored: 0,
      unparsed: 0,
      maxretry: 2,
      findtimeSeconds: 3600,
    });
    expect(report.wouldBan.map((ban: { address: string }) => ban.address).sort()).toEqual(['198.51.100.7', '198.51.100.8', '2001:db8::66', '203.0.113.9']);
    expect(report.addresses.map((entry: { address: string }) => entry.address)).not.toContain('192.0.2.7');
  });

  it('filters lists every built-in filter, shows one whole, and refuses an unknown name', async () => {
    expect(await xtban('filters', '--json')).toBe(0);
    const listed = JSON.parse(stdout) as { filters: { name: string; catches: string; rules: { pattern: string; role: string }[] }[] };
    expect(listed.filters.map((filter) => filter.name)).toContain('sshd');
    for (const filter of listed.filters) {
      expect(filter.catches.length).toBeGreaterThan(10);
      expect(filter.rules.length).toBeGreaterThan(0);
    }
    stdout = '';
    expect(await xtban('filters', 'sshd')).toBe(0);
    expect(stdout).toContain('modes: normal, ddos, aggressive');
    expect(stdout).toContain('announce: Invalid user');
    expect(await xtban('filters', 'nope')).toBe(2);
    expect(stderr).toContain('no built-in filter named "nope"');
  });

  it('config check warns about a filter whose daemon lets a client write lines of its own (mysqld-auth)', async () => {
    const dir = scratchDir('xtban-caveat-');
    const path = `${dir}/xtban.toml`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, '[jails.db]\nports = [3306]\n[[jails.db.sources]]\ntype = "file"\npath = "/var/log/mysql/error.log"\nfilter = "mysqld-auth"\n');
    expect(await xtban('--config', path, 'config', 'check', '--json')).toBe(0);
    expect(JSON.parse(stdout).warnings).toEqual([expect.stringContaining('jails.db.sources[0]: filter mysqld-auth: MariaDB writes a newline')]);
    expect(stderr).toContain('warning: jails.db.sources[0]: filter mysqld-auth');
  });

  it('config show prints the built-in filters as commented tables that load once uncommented', async () => {
    expect(await xtban('--config', example, 'config', 'show')).toBe(0);
    expect(stdout).toContain('# [filters.my-sshd]');
    // Each table runs from its [filters.my-NAME] line to the blank line after it.
    const lines = stdout.split('\n');
    const { parse } = await import('smol-toml');
    const filters: Record<string, { patterns: string[]; ignore?: string[]; delimiter?: string }> = {};
    lines.forEach((line, start) => {
      if (!/^# \[filters\.my-[\w-]+\]$/.test(line)) return;
      const end = lines.findIndex((next, index) => index > start && !next.startsWith('# '));
      const parsed = parse(
        lines
          .slice(start, end === -1 ? undefined : end)
          .map((next) => next.slice(2))
          .join('\n'),
      ) as { filters: typeof filters };
      Object.assign(filters, parsed.filters);
    });
    expect(Object.keys(filters).sort()).toEqual([...BUILTIN_FILTERS.keys()].map((name) => `my-${name}`).sort());
    expect(filters['my-sshd']?.patterns).toContain(String.raw`Invalid user .* from <ADDR>(?: port \d+)?`);
    // A filter's ignore patterns and delimiter come along.
    expect(filters['my-postfix-sasl']?.delimiter).toBe('[');
    expect(filters['my-postfix-sasl']?.ignore?.[0]).toContain('Connection lost to authentication server');
    expect(filters['my-nginx-http-auth']?.delimiter).toBe(':');
  });

  it('scan refuses an unknown mode or format, and a mode the filter has not, with exit 2', async () => {
    const log = new URL('../../fixtures/logs/sshd-openssh9.log', import.meta.url).pathname;
    expect(await xtban('--config', example, 'scan', log, '--mode', 'extreme')).toBe(2);
    expect(stderr).toContain('--mode: "extreme" is not a mode');
    expect(await xtban('--config', example, 'scan', log, '--format', 'csv')).toBe(2);
    expect(stderr).toContain('--format: "csv" is not a format');
    stdout = '';
    expect(await xtban('--config', example, 'scan', log, '--mode', 'aggressive', '--maxretry', '2', '--json')).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ mode: 'aggressive', matched: 17 });
  });

  it('scan refuses an unknown filter, a bad maxretry and a missing file with exit 2', async () => {
    const log = new URL('../../fixtures/logs/sshd-openssh9.log', import.meta.url).pathname;
    expect(await xtban('--config', example, 'scan', log, '--filter', 'nginx')).toBe(2);
    expect(stderr).toContain('--filter: no filter named "nginx"');
    expect(await xtban('--config', example, 'scan', log, '--maxretry', 'lots')).toBe(2);
    expect(stderr).toContain('--maxretry: "lots" is not a whole number');
    expect(await xtban('--config', example, 'scan', '/nonexistent.log')).toBe(2);
    expect(stderr).toContain('cannot read /nonexistent.log: ENOENT');
  });

  it('reap --dry-run plans over captured lists and refuses --proc without --dry-run', async () => {
    const captured = new URL('../../fixtures/config/captured.toml', import.meta.url).pathname;
    const state = scratchDir('xtban-reap-cli-');
    const code = await xtban(
      '--config',
      captured,
      '--state-dir',
      state,
      'reap',
      '--dry-run',
      '--json',
      '--proc',
      `${fixtures}/net/xt_recent`,
      '--clock',
      fixtures,
      '--sys',
      `${fixtures}/sys`,
    );
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.removed.map((action: { address: string; reason: string }) => `${action.address} ${action.reason}`).sort()).toEqual([
      '192.0.2.1 stale',
      '203.0.113.99 stale',
    ]);
    expect(report.kept).toEqual({ live: 2, permanent: 0 });
    expect(await xtban('--config', captured, '--state-dir', state, 'reap', '--proc', `${fixtures}/net/xt_recent`)).toBe(2);
    expect(stderr).toContain('--proc and --clock read captured lists: use them with --dry-run');
  });
});

describe('failures', () => {
  it('under --json, a failure before any result still prints one JSON document, with the exit code', async () => {
    expect(await xtban('--config', '/nonexistent/xtban.toml', 'bans', '--json')).toBe(2);
    const document = JSON.parse(stdout) as { error: { message: string; exitCode: number; bug: boolean } };
    expect(document.error).toMatchObject({ exitCode: 2, bug: false });
    expect(document.error.message).toContain('/nonexistent/xtban.toml');
    expect(stdout.trim().split('\n')).toHaveLength(1);
  });

  it('an error xtban did not expect is a bug, says so, and exits 70, not 3 (which means the kernel refused)', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => {
      throw new Error('a write that cannot fail, failed');
    });
    expect(await xtban('--config', example, 'config', 'show')).toBe(70);
    expect(stderr).toContain('xtban: internal error (a bug): Error: a write that cannot fail, failed');
    expect(stderr).toContain('please report it');
  });
});
