// The sshd filter over the lines the real OpenSSH 9.2 wrote (fixtures/logs/sshd/, captured by
// test/kernel/filters/sshd.test.ts: syslog at INFO and VERBOSE, and sshd -E), the same syslog lines as
// journal entries, and hand-written lines of other versions (variants.log): the exact attempts per
// address in each mode, the innocent addresses the attacker wrote never among them (but in sshd -E's
// own file, where sshd writes a client's newlines raw), and the count of lines matched and linked.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanLogs } from '../../../src/app/scan.js';
import { compileFilter } from '../../../src/core/filter.js';
import { builtinSpec, type FilterMode } from '../../../src/core/filters/builtin.js';
import { sshdFilter } from '../../../src/core/filters/sshd.js';
import { parseSyslogLine, type FileFormat } from '../../../src/core/log-line.js';

const DIR = new URL('../../../fixtures/logs/sshd/', import.meta.url).pathname;
const MODES: FilterMode[] = ['normal', 'ddos', 'aggressive'];
const INNOCENT = ['203.0.113.9', '2001:db8::9'];
const scratch = mkdtempSync(join(tmpdir(), 'xtban-sshd-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function scan(file: string, mode: FilterMode, format: FileFormat) {
  const spec = builtinSpec(sshdFilter, mode);
  const report = await scanLogs([file], compileFilter(spec), spec, { maxretry: 3, findtimeSeconds: 600, threads: 1, nowMs: Date.now(), format });
  return { attempts: Object.fromEntries(report.addresses), stats: report.stats };
}

// What the captured clients were (test/kernel/filters/sshd.test.ts says each): attempts per address,
// [normal, ddos, aggressive], for the syslog file at INFO, at VERBOSE, and sshd -E's file.
type Counts = [number, number, number];
const CAPTURED: Record<string, { syslog: Counts; verbose: Counts; file: Counts }> = {
  // Injections: 16 connections from the attacker's own address.
  '192.0.2.2': { file: [30, 31, 31], syslog: [14, 15, 15], verbose: [14, 15, 15] },
  // Three wrong passwords for root, then a disconnect.
  '192.0.2.10': { file: [4, 4, 5], syslog: [3, 3, 3], verbose: [3, 3, 3] },
  // OpenSSH's client, two wrong passwords for nobody.
  '192.0.2.11': { file: [3, 3, 3], syslog: [2, 2, 2], verbose: [2, 2, 2] },
  // An invalid user, two passwords.
  '192.0.2.12': { file: [4, 4, 4], syslog: [2, 2, 2], verbose: [2, 2, 2] },
  // Two wrong keyboard-interactive answers for root.
  '192.0.2.13': { file: [3, 3, 3], syslog: [2, 2, 2], verbose: [2, 2, 2] },
  // Keyboard-interactive for an invalid user.
  '192.0.2.14': { file: [4, 4, 4], syslog: [1, 1, 1], verbose: [1, 1, 1] },
  // An unknown key; a certificate (ID "key id", not matched); a certificate (ID "scanner-7").
  '192.0.2.15': { file: [1, 1, 1], syslog: [1, 1, 1], verbose: [1, 1, 1] },
  '192.0.2.16': { file: [1, 1, 1], syslog: [1, 1, 1], verbose: [1, 1, 1] },
  '192.0.2.17': { file: [1, 1, 1], syslog: [1, 1, 1], verbose: [2, 2, 2] },
  // MaxAuthTries with seven keys, with seven passwords.
  '192.0.2.18': { file: [2, 2, 2], syslog: [1, 1, 1], verbose: [6, 6, 6] },
  '192.0.2.19': { file: [8, 8, 8], syslog: [6, 6, 6], verbose: [6, 6, 6] },
  // DenyUsers.
  '192.0.2.20': { file: [3, 3, 3], syslog: [1, 1, 1], verbose: [1, 1, 1] },
  // Banner garbage; an identification, then nothing; an SSH-1 client.
  '192.0.2.21': { file: [0, 1, 1], syslog: [0, 1, 1], verbose: [0, 1, 1] },
  '192.0.2.23': { file: [0, 1, 1], syslog: [0, 1, 1], verbose: [0, 1, 1] },
  '192.0.2.24': { file: [0, 1, 1], syslog: [0, 1, 1], verbose: [0, 1, 1] },
  // No matching key exchange, no matching cipher.
  '192.0.2.25': { file: [0, 0, 2], syslog: [0, 0, 2], verbose: [0, 0, 2] },
  // Two changes of user name.
  '192.0.2.26': { file: [4, 4, 4], syslog: [2, 2, 2], verbose: [2, 2, 2] },
  // JSch; no authentication methods; a disconnect before anything.
  '192.0.2.27': { file: [2, 2, 2], syslog: [1, 1, 1], verbose: [1, 1, 1] },
  '192.0.2.28': { file: [1, 1, 2], syslog: [1, 1, 1], verbose: [1, 1, 1] },
  '192.0.2.29': { file: [0, 1, 2], syslog: [0, 1, 1], verbose: [0, 1, 1] },
  // A wrong password and an unknown key over IPv6.
  '2001:db8::2': { file: [3, 3, 3], syslog: [2, 2, 2], verbose: [2, 2, 2] },
  // Lines the attacker forged in sshd -E's file.
  '203.0.113.9': { file: [3, 3, 3], syslog: [0, 0, 0], verbose: [0, 0, 0] },
};

function expected(kind: 'syslog' | 'verbose' | 'file', mode: FilterMode): Record<string, number> {
  const index = MODES.indexOf(mode);
  return Object.fromEntries(
    Object.entries(CAPTURED)
      .map(([address, counts]) => [address, counts[kind][index] as number] as const)
      .filter(([, count]) => count > 0),
  );
}

// syslog lines as `journalctl -o json` prints their entries.
function asJournal(file: string): string {
  const year = new Date().getFullYear();
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const record = parseSyslogLine(line, Date.now());
      if (!record) throw new Error(`not a syslog line: ${line}`);
      return JSON.stringify({
        __REALTIME_TIMESTAMP: String((record.timeMs ?? Date.UTC(year, 0, 1)) * 1000),
        SYSLOG_IDENTIFIER: record.program,
        ...(record.pid === undefined ? {} : { SYSLOG_PID: String(record.pid) }),
        MESSAGE: record.message,
      });
    });
  const out = join(scratch, `${file.split('/').pop()}.json`);
  writeFileSync(out, `${lines.join('\n')}\n`);
  return out;
}

// Lines read, matched, linked to an attempt already counted, missed, and not of the format, per mode.
// In syslog, matched less linked is the sum of the attempts above; in -E nothing is linked (no pid).
const STATS: Record<string, Record<FilterMode, { lines: number; matched: number; linked: number; missed: number; unparsed: number }>> = {
  'auth.log': {
    normal: { lines: 146, matched: 83, linked: 42, missed: 63, unparsed: 0 },
    ddos: { lines: 146, matched: 88, linked: 42, missed: 58, unparsed: 0 },
    aggressive: { lines: 146, matched: 94, linked: 46, missed: 52, unparsed: 0 },
  },
  'auth-verbose.log': {
    normal: { lines: 211, matched: 98, linked: 51, missed: 113, unparsed: 0 },
    ddos: { lines: 211, matched: 103, linked: 51, missed: 108, unparsed: 0 },
    aggressive: { lines: 211, matched: 109, linked: 55, missed: 102, unparsed: 0 },
  },
  'sshd-E.log': {
    normal: { lines: 113, matched: 77, linked: 0, missed: 36, unparsed: 0 },
    ddos: { lines: 113, matched: 82, linked: 0, missed: 31, unparsed: 0 },
    aggressive: { lines: 113, matched: 87, linked: 0, missed: 26, unparsed: 0 },
  },
};

describe('sshd filter over the lines of the real OpenSSH 9.2', () => {
  const files = { syslog: join(DIR, 'auth.log'), verbose: join(DIR, 'auth-verbose.log'), file: join(DIR, 'sshd-E.log') } as const;
  for (const mode of MODES) {
    it(`syslog at LogLevel INFO, mode ${mode}: each attacker's attempts, as syslog lines and as journal entries`, async () => {
      const lines = await scan(files.syslog, mode, 'syslog');
      expect(lines.attempts).toEqual(expected('syslog', mode));
      const journal = await scan(asJournal(files.syslog), mode, 'auto');
      expect(journal.attempts).toEqual(expected('syslog', mode));
      expect(journal.stats).toEqual(lines.stats);
      expect(lines.stats).toMatchObject(STATS['auth.log']?.[mode] ?? {});
    });
    it(`syslog at LogLevel VERBOSE, mode ${mode}: each key refused counts`, async () => {
      const result = await scan(files.verbose, mode, 'syslog');
      expect(result.attempts).toEqual(expected('verbose', mode));
      expect(result.stats).toMatchObject(STATS['auth-verbose.log']?.[mode] ?? {});
    });
    it(`sshd -E, read as plain, mode ${mode}: every line counts, the attacker's forged ones too`, async () => {
      const result = await scan(files.file, mode, 'plain');
      expect(result.attempts).toEqual(expected('file', mode));
      expect(result.stats).toMatchObject(STATS['sshd-E.log']?.[mode] ?? {});
    });
  }

  it('never takes an address the attacker wrote from syslog or the journal', async () => {
    for (const mode of MODES) {
      for (const file of [files.syslog, files.verbose]) {
        const found = Object.keys((await scan(file, mode, 'syslog')).attempts);
        for (const address of INNOCENT) expect(found, `${file} ${mode}`).not.toContain(address);
      }
    }
  });

  it("counts of PAM's own lines, which sshd -E leaves to syslog without a pid, only the closing 'N more authentication failures', once each", async () => {
    const closing = { '192.0.2.10': 1, '192.0.2.11': 1, '192.0.2.12': 1, '192.0.2.19': 1 };
    for (const mode of MODES) expect((await scan(join(DIR, 'sshd-E-pam-syslog.log'), mode, 'syslog')).attempts).toEqual(closing);
  });
});

// variants.log: per address, [normal, ddos, aggressive] (the file's comments say what each group is).
const VARIANTS: Record<string, Counts> = {
  // OpenSSH 7.4: two passwords; the closes add nothing.
  '198.51.100.71': [2, 2, 2],
  // 7.4: an invalid user and its password: one attempt.
  '198.51.100.72': [1, 1, 1],
  // 7.4: MaxAuthTries with keys, once.
  '198.51.100.73': [1, 1, 1],
  // 7.4: no identification, a bad one.
  '198.51.100.74': [0, 2, 2],
  '198.51.100.75': [0, 0, 1],
  // 7.4: AllowUsers, then its password: one attempt.
  '198.51.100.76': [1, 1, 1],
  '198.51.100.77': [1, 1, 1],
  // 8.2: an invalid user, two passwords; keys refused; three passwords and MaxAuthTries.
  '198.51.100.81': [2, 2, 2],
  '198.51.100.82': [1, 1, 1],
  '198.51.100.83': [3, 3, 3],
  // 8.9: banner garbage; a change of user name; keyboard-interactive for an invalid user; JSch; no methods.
  '198.51.100.91': [0, 1, 1],
  '198.51.100.93': [1, 1, 1],
  '198.51.100.94': [1, 1, 1],
  '198.51.100.95': [1, 1, 1],
  '198.51.100.96': [1, 1, 1],
  '198.51.100.97': [1, 1, 1],
  // macOS and Solaris; sshd-session, sshd-auth.
  '198.51.100.101': [1, 1, 1],
  '198.51.100.102': [1, 1, 1],
  '198.51.100.111': [1, 1, 1],
  '198.51.100.112': [1, 1, 1],
};

describe('sshd filter over lines of other OpenSSH versions (variants.log)', () => {
  for (const mode of MODES) {
    it(`mode ${mode}: each connection's attempts; a silent connection, a "via" address and a successful login not at all`, async () => {
      const index = MODES.indexOf(mode);
      const want = Object.fromEntries(
        Object.entries(VARIANTS)
          .map(([address, counts]) => [address, counts[index] as number] as const)
          .filter(([, count]) => count > 0),
      );
      const result = await scan(join(DIR, 'variants.log'), mode, 'auto');
      expect(result.attempts).toEqual(want);
      expect(result.attempts['198.51.100.92']).toBeUndefined();
      expect(result.attempts['198.51.100.103']).toBeUndefined();
      expect(result.attempts['192.0.2.50']).toBeUndefined();
    });
  }
});
