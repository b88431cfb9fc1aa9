// xtban's built-in filters against fail2ban's filters of the same name, on the real daemons' captured
// logs (fixtures/logs/<filter>/*.log): `xtban scan --filter NAME --json` and `fail2ban-regex -o ip`
// (fail2ban 1.0.2, Debian 12's, with its stock filter and the same mode) must find the same set of
// offending addresses, but for the differences listed in DIFFERENCES, each with its reason. A new
// difference fails the test, and so does a listed one that is gone. A filter whose fixtures are not
// captured, or that xtban does not have, fails by name.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BUILTIN_FILTERS } from '../../../src/core/filters/index.js';
import { describeKernel } from '../helpers/netns.js';
import { CLI_MAIN } from '../helpers/work.js';

const LOGS = fileURLToPath(new URL('../../../fixtures/logs/', import.meta.url));
type Mode = 'normal' | 'ddos' | 'aggressive';

// Each xtban filter and fail2ban's of the same name (postfix's SMTP AUTH failures are its mode auth). A
// filter's modes are xtban's (sshd's, dovecot's), which fail2ban's filters of the same name share.
const FILTERS: { filter: string; fail2ban: string }[] = [
  { filter: 'sshd', fail2ban: 'sshd' },
  { filter: 'nginx-http-auth', fail2ban: 'nginx-http-auth' },
  { filter: 'nginx-limit-req', fail2ban: 'nginx-limit-req' },
  { filter: 'nginx-botsearch', fail2ban: 'nginx-botsearch' },
  { filter: 'apache-auth', fail2ban: 'apache-auth' },
  { filter: 'postfix-sasl', fail2ban: 'postfix[mode=auth]' },
  { filter: 'dovecot', fail2ban: 'dovecot' },
  { filter: 'vsftpd', fail2ban: 'vsftpd' },
  { filter: 'mysqld-auth', fail2ban: 'mysqld-auth' },
];

// Captured files not compared, and why (journal entries and datagrams are read by xtban only: fail2ban
// reads the journal itself, not a file of its entries).
const NOT_COMPARED: Record<string, string> = {
  'sshd/sshd-E.log':
    "sshd -E writes no time and no program: fail2ban's line prefix takes the first word for a host name, so its patterns see \"password for root ...\" and miss all but PAM's lines (xtban reads it as plain; its hole there is test/kernel/filters/sshd.test.ts's)",
};

// A difference of the address sets: found by one side only, in these files and modes, and why.
interface Difference {
  filter: string;
  files: string[];
  modes?: Mode[];
  address: string;
  side: 'xtban' | 'fail2ban';
  why: string;
}

const KEY_CLOSE =
  'keys offered and refused at LogLevel INFO leave only "Connection closed by authenticating user root ADDR port N [preauth]": xtban counts a connection\'s close when nothing else of it counted; fail2ban\'s normal mode takes that line as no failure (it counts it in ddos)';
const DIFFERENCES: Difference[] = [
  // sshd, the real 9.2 (auth.log at INFO, auth-verbose.log at VERBOSE).
  { filter: 'sshd', files: ['auth.log', 'auth-verbose.log'], modes: ['normal'], address: '192.0.2.15', side: 'xtban', why: KEY_CLOSE },
  {
    filter: 'sshd',
    files: ['auth.log', 'auth-verbose.log'],
    modes: ['normal'],
    address: '192.0.2.16',
    side: 'xtban',
    why: `a certificate, then its key: ${KEY_CLOSE} (at VERBOSE fail2ban's default publickey=nofail takes "Failed publickey" as no failure)`,
  },
  {
    filter: 'sshd',
    files: ['auth.log', 'auth-verbose.log'],
    modes: ['normal'],
    address: '192.0.2.17',
    side: 'xtban',
    why: `a certificate, then its key: ${KEY_CLOSE} (at VERBOSE fail2ban's default publickey=nofail takes "Failed publickey" as no failure)`,
  },
  {
    filter: 'sshd',
    files: ['auth.log', 'auth-verbose.log'],
    modes: ['normal'],
    address: '192.0.2.28',
    side: 'xtban',
    why: 'a client that disconnects with reason 14 before any attempt: xtban counts its close "Disconnected from authenticating user root ADDR port N [preauth]" once; fail2ban counts the reason-14 line and the close in aggressive only',
  },
  {
    filter: 'sshd',
    files: ['auth.log', 'auth-verbose.log'],
    modes: ['ddos', 'aggressive'],
    address: '192.0.2.24',
    side: 'xtban',
    why: 'an SSH-1 client: "banner exchange: Connection from ADDR port N: could not read protocol version"; fail2ban takes "invalid format" only',
  },
  {
    filter: 'sshd',
    files: ['auth.log', 'auth-verbose.log'],
    modes: ['ddos', 'aggressive'],
    address: '192.0.2.22',
    side: 'fail2ban',
    why: 'a connection that sends nothing: "error: kex_exchange_identification: Connection closed by remote host" (no address; fail2ban takes it from the next line of the pid), then "Connection closed by ADDR port N" without [preauth], which at VERBOSE also ends a logged-in user\'s dropped connection: xtban does not count it',
  },
  // sshd, variants.log (hand-written lines of other versions).
  {
    filter: 'sshd',
    files: ['variants.log'],
    address: '198.51.100.111',
    side: 'xtban',
    why: 'OpenSSH 9.8+ logs authentication as sshd-session: fail2ban 1.0.2 reads the identifier sshd only',
  },
  {
    filter: 'sshd',
    files: ['variants.log'],
    address: '198.51.100.112',
    side: 'xtban',
    why: 'OpenSSH 10 logs authentication as sshd-auth: fail2ban 1.0.2 reads sshd only',
  },
  { filter: 'sshd', files: ['variants.log'], modes: ['normal'], address: '198.51.100.82', side: 'xtban', why: KEY_CLOSE },
  {
    filter: 'sshd',
    files: ['variants.log'],
    modes: ['normal'],
    address: '198.51.100.96',
    side: 'xtban',
    why: 'reason 14 then "Disconnected from authenticating user": xtban counts the close in normal (fail2ban in aggressive only)',
  },
  {
    filter: 'sshd',
    files: ['variants.log'],
    address: '198.51.100.103',
    side: 'fail2ban',
    why: '"error: PAM: Authentication failure for james from ADDR via 192.0.2.1" (macOS): a word after the address that can begin with an address is what filter-safety.ts refuses; xtban takes "via" with a host name only',
  },
  {
    filter: 'sshd',
    files: ['variants.log'],
    modes: ['ddos', 'aggressive'],
    address: '198.51.100.92',
    side: 'fail2ban',
    why: 'a connection that sends nothing (OpenSSH 8.9): as 192.0.2.22',
  },
  // sshd, the PAM lines of the -E server (syslog without a pid: sshd -E never calls openlog).
  ...['192.0.2.13', '192.0.2.14', '192.0.2.2', '192.0.2.20', '192.0.2.26'].map(
    (address): Difference => ({
      filter: 'sshd',
      files: ['sshd-E-pam-syslog.log'],
      address,
      side: 'fail2ban',
      why: 'PAM\'s "pam_unix(sshd:auth): authentication failure; ... rhost=ADDR" without a pid: fail2ban links lines by their prefix (the pid), here one for all, and once that has seen two user names it counts the line it otherwise takes as no failure; xtban never counts pam_unix\'s line',
    }),
  ),
  {
    filter: 'sshd',
    files: ['sshd-E-pam-syslog.log'],
    address: '192.0.2.11',
    side: 'xtban',
    why: 'PAM\'s closing "PAM 1 more authentication failure; ... rhost=ADDR" without a pid counts once in xtban; fail2ban has no pattern for it and takes the pam_unix line before it, the first of the file, as no failure',
  },
  // The web and mail filters, from their fixtures as captured on Dec 3 2026 (test/kernel/filters/<filter>.test.ts).
  ...['nginx-http-auth', 'nginx-limit-req', 'nginx-botsearch'].flatMap((filter) =>
    ['192.0.2.2', '2001:db8::2'].map(
      (address): Difference => ({
        filter,
        files: ['syslog.log'],
        address,
        side: 'xtban',
        why: 'nginx logging to syslog (error_log syslog:...) writes "HOST nginx: 2026/12/03 07:26:23 [error] ...": fail2ban\'s nginx filters expect "[error]" right after the time and read the file or the journal only',
      }),
    ),
  ),
  ...['192.0.2.2', '2001:db8::2'].map(
    (address): Difference => ({
      filter: 'nginx-botsearch',
      files: ['error.log'],
      address,
      side: 'fail2ban',
      why: 'fail2ban also reads error.log\'s "open() \\"PATH\\" failed (2: No such file or directory), client: ADDR": the path is the client\'s decoded request, written before the address, so no count of a character or fixed words pins the address there; xtban reads the access log only',
    }),
  ),
  ...['203.0.113.9', '2001:db8::9'].map(
    (address): Difference => ({
      filter: 'dovecot',
      files: ['dovecot.log'],
      address,
      side: 'fail2ban',
      why: 'fail2ban 1.0.2 takes the injected address: its "passwd-file(\\S*,<HOST>(?:,\\S*)?): unknown user" reads the user name "x,203.0.113.9,<abc>): unknown user" (and "x,2001:db8::9): password mismatch") as the user and the address; xtban does not',
    }),
  ),
  {
    filter: 'mysqld-auth',
    files: ['error.log'],
    address: '2001:db8::2',
    side: 'xtban',
    why: "MariaDB's \"Access denied for user 'bob'@'2001:db8::2'\" without \"(using password: ...)\", the client's only line: fail2ban 1.0.2's mysqld-auth does not match a line without it",
  },
  {
    filter: 'mysqld-auth',
    files: ['forged.log'],
    address: '203.0.113.9',
    side: 'xtban',
    why: "forged.log is what MariaDB wrote for user names with a newline (its hole, fixtures/logs/mail.md): both sides read the forged lines (2001:db8::9 on both); the forged \"Access denied for user 'a'@'203.0.113.9'\" has no \"(using password: ...)\", which fail2ban's pattern wants",
  },
];

interface Compared {
  filter: string;
  fail2ban: string;
  file: string;
  mode: Mode;
}

// The address sets of both sides on one file, and what each found that the other did not.
async function compare({ filter, fail2ban, file, mode }: Compared): Promise<{ xtban: string[]; fail2ban: string[] }> {
  const path = join(LOGS, filter, file);
  const ours = await execa(process.execPath, [CLI_MAIN, 'scan', '--filter', filter, '--mode', mode, '--json', path], { reject: false, timeout: 60_000 });
  if (ours.exitCode !== 0) throw new Error(`xtban scan ${path}: ${ours.stderr}`);
  const xtban = new Set((JSON.parse(ours.stdout) as { addresses: { address: string }[] }).addresses.map((entry) => entry.address));
  const name = mode === 'normal' ? fail2ban : `${fail2ban.replace(/\]$/, '')}${fail2ban.endsWith(']') ? ',' : '['}mode=${mode}]`;
  const theirs = await execa('fail2ban-regex', ['-o', 'ip', path, name], { reject: false, timeout: 120_000 });
  if (theirs.exitCode !== 0) throw new Error(`fail2ban-regex ${path} ${name}: ${theirs.stderr}${theirs.stdout}`);
  const found = new Set(
    theirs.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => /^[0-9a-fA-F:.]+$/.test(line) && /[.:]/.test(line))
      .map((line) => (line.includes(':') ? line.toLowerCase() : line)),
  );
  return { xtban: [...xtban].filter((address) => !found.has(address)).sort(), fail2ban: [...found].filter((address) => !xtban.has(address)).sort() };
}

describeKernel("built-in filters agree with fail2ban 1.0.2 on the real daemons' logs", () => {
  it('runs the fail2ban-regex this machine has', async () => {
    const version = await execa('fail2ban-regex', ['--version'], { reject: false });
    expect(version.stdout).toMatch(/fail2ban-regex 1\.0\./);
  });

  for (const { filter, fail2ban } of FILTERS) {
    const dir = join(LOGS, filter);
    if (!existsSync(dir)) {
      it(`${filter}: has captured fixtures (fixtures/logs/${filter}/)`, () => {
        expect.fail(`no captured fixtures for ${filter}: capture them with XTBAN_CAPTURE_FIXTURES=1 (fixtures/logs/*.md)`);
      });
      continue;
    }
    if (!BUILTIN_FILTERS.has(filter)) {
      it(`${filter}: is a built-in filter`, () => {
        expect.fail(`fixtures captured for ${filter}, but xtban has no built-in filter of that name`);
      });
      continue;
    }
    describe(`${filter} against fail2ban's ${fail2ban}`, () => {
      const files = readdirSync(dir)
        .filter((file) => file.endsWith('.log'))
        .sort();
      for (const file of files) {
        const why = NOT_COMPARED[`${filter}/${file}`];
        if (why) {
          // Not compared address by address (xtban reads such a file only as format plain), but the
          // reason is checked: what fail2ban finds there comes only from PAM's lines.
          it(`${file}: fail2ban reads only PAM's lines of it (${why})`, async () => {
            const found = await compare({ filter, fail2ban, file, mode: 'normal' });
            const pam = new Set(
              readFileSync(join(dir, file), 'utf8')
                .split('\n')
                .filter((line) => line.includes('PAM'))
                .flatMap((line) => [...line.matchAll(/(?:from |rhost=)([0-9A-Fa-f:.]+)/g)].map((m) => m[1] ?? '')),
            );
            expect(found.fail2ban.length).toBeGreaterThan(0);
            for (const address of found.fail2ban) expect(pam.has(address), address).toBe(true);
          });
          continue;
        }
        for (const mode of BUILTIN_FILTERS.get(filter)?.modes ?? ['normal']) {
          it(`${file}${mode === 'normal' ? '' : ` (mode ${mode})`}: the same addresses, but for the listed differences`, async () => {
            const found = await compare({ filter, fail2ban, file, mode });
            const listed = DIFFERENCES.filter(
              (d) => d.filter === filter && d.files.includes(file) && (d.modes ?? ['normal', 'ddos', 'aggressive']).includes(mode),
            );
            const only = (side: 'xtban' | 'fail2ban') =>
              listed
                .filter((d) => d.side === side)
                .map((d) => d.address)
                .sort();
            expect({ onlyXtban: found.xtban, onlyFail2ban: found.fail2ban }).toEqual({ onlyXtban: only('xtban'), onlyFail2ban: only('fail2ban') });
          });
        }
      }
    });
  }

  it('lists no difference for a file or filter that is not compared', () => {
    for (const d of DIFFERENCES) {
      expect(
        FILTERS.map((f) => f.filter),
        d.address,
      ).toContain(d.filter);
      for (const file of d.files) expect(NOT_COMPARED[`${d.filter}/${file}`], `${d.filter}/${file}`).toBeUndefined();
    }
  });
});
