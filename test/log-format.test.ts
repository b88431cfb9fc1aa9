import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatLogLine, humanLine, isJournalStream, journalNote, MAX_LINE, priorityOfNote, resolveLogFormat } from '../src/log-format.js';

const work = mkdtempSync(join(tmpdir(), 'xtban-logformat-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const pinoLine = (level: number, msg: string, fields: object = {}) =>
  JSON.stringify({ level, time: '2026-12-02T03:30:00.000Z', pid: 7, hostname: 'fw', name: 'xtban', component: 'repair', ...fields, msg });

describe('formatLogLine', () => {
  it("files each pino level at journald's priority, as a sentence", () => {
    expect(formatLogLine(pinoLine(60, 'x'), 'journal')).toMatch(/^<2>/);
    expect(formatLogLine(pinoLine(50, 'x'), 'journal')).toMatch(/^<3>/);
    expect(formatLogLine(pinoLine(40, 'ruleset or lists were missing: repaired IPv4 ssh: jump missing', { restored: 2 }), 'journal')).toBe(
      '<4>repair: ruleset or lists were missing: repaired IPv4 ssh: jump missing (restored=2)\n',
    );
    expect(formatLogLine(pinoLine(30, 'x'), 'journal')).toMatch(/^<6>/);
    expect(formatLogLine(pinoLine(20, 'x'), 'journal')).toMatch(/^<7>/);
  });

  it('gives a terminal the time and the level, and log shippers the JSON as pino wrote it', () => {
    expect(formatLogLine(pinoLine(40, 'careful', { jail: 'ssh' }), 'text')).toBe('2026-12-02T03:30:00.000Z WARN repair: careful (jail=ssh)\n');
    const json = pinoLine(30, 'as is');
    expect(formatLogLine(json, 'json')).toBe(`${json}\n`);
  });

  it('never lets a value or a message end the line: a forged <0> line stays inside the first', () => {
    const line = formatLogLine(pinoLine(30, 'banned\n<0>forged', { error: 'bad\n<0>emergency', list: ['a b', 'c'] }), 'journal');
    expect(line.split('\n')).toHaveLength(2);
    expect(line).toMatch(/^<6>repair: banned\\n<0>forged \(error="bad\\n<0>emergency", list=\["a b","c"\]\)\n$/);
    expect(formatLogLine('not json\n<0>x', 'journal').split('\n')).toHaveLength(2);
    // NUL ends a line for journald as well.
    expect(formatLogLine(pinoLine(30, 'a\u0000<0>b'), 'journal')).toBe('<6>repair: a\\u0000<0>b\n');
  });

  it('cuts a line long before journald would split it and read a prefix again in the rest', () => {
    const long = formatLogLine(pinoLine(30, 'x', { error: `${'a'.repeat(60_000)}<0>forged` }), 'journal');
    expect(long.length).toBeLessThanOrEqual(MAX_LINE + 5);
    expect(long).toMatch(/ \[truncated\]\n$/);
    expect(long).not.toContain('<0>forged');
  });

  it('does not repeat what the sentence already says', () => {
    expect(humanLine({ msg: 'banned 192.0.2.7 in jail ssh', address: '192.0.2.7', jail: 'ssh', list: 'xtban-ssh', repaired: ['192.0.2.7'], restored: 0 })).toBe(
      'banned 192.0.2.7 in jail ssh (list=xtban-ssh, restored=0)',
    );
  });

  it('quotes strings that would read as several values', () => {
    expect(humanLine({ msg: 'm', why: 'two words', file: '/var/log/auth.log' })).toBe('m (why="two words", file=/var/log/auth.log)');
  });
});

describe('notes and errors on stderr under journald', () => {
  it('files errors at err and warnings at warning, every line of a note', () => {
    expect(priorityOfNote('error: ban 192.0.2.7 in ssh: ENOENT')).toBe(3);
    expect(priorityOfNote('xtban: config /etc/xtban/xtban.toml: not found')).toBe(3);
    expect(priorityOfNote('warning: list xtban-ssh is 90 % full')).toBe(4);
    expect(priorityOfNote('  no room for 192.0.2.7 in xtban-ssh')).toBe(4);
    expect(priorityOfNote('3 live ban(s) are not in the kernel')).toBe(5);
    expect(journalNote('xtban: bad\n  hint: fix it\n', 3)).toBe('<3>xtban: bad\n<3>  hint: fix it\n');
    expect(journalNote('error: a\u0000<0>b\r<0>c', 3)).toBe('<3>error: a\\u0000<0>b\\r<0>c\n');
  });
});

describe('resolveLogFormat', () => {
  it('picks journal only for the very stream JOURNAL_STREAM names, text otherwise, and obeys a choice', () => {
    const file = join(work, 'stream');
    const fd = openSync(file, 'w');
    try {
      const stat = statSync(file, { bigint: true });
      const named = `${stat.dev}:${stat.ino}`;
      expect(isJournalStream(fd, named)).toBe(true);
      expect(resolveLogFormat(undefined, fd, named)).toBe('journal');
      expect(resolveLogFormat('auto', fd, named)).toBe('journal');
      expect(resolveLogFormat('json', fd, named)).toBe('json');
      expect(resolveLogFormat('text', fd, named)).toBe('text');
      // Inherited by a child whose output went elsewhere: not the journal.
      expect(resolveLogFormat(undefined, fd, `${stat.dev}:${stat.ino + 1n}`)).toBe('text');
      for (const bad of ['', 'x:y', `${stat.dev}`, `${named}:1`]) expect(isJournalStream(fd, bad)).toBe(false);
    } finally {
      closeSync(fd);
    }
  });
});

describe('the logging convention', () => {
  it('binds component on child loggers only: a call never passes its own, so no JSON line holds the key twice', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = new URL('../src/', import.meta.url).pathname;
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk(root);
    const offending = files.flatMap((path) =>
      readFileSync(path, 'utf8')
        .split('\n')
        .map((line, index) => ({ line, where: `${path.slice(root.length)}:${index + 1}` }))
        .filter(({ line }) => /\.(?:fatal|error|warn|info|debug|trace)\(\{[^}]*\bcomponent:/.test(line) || /\bfields = \{[^}]*\bcomponent:/.test(line))
        .map(({ where }) => where),
    );
    expect(files.length).toBeGreaterThan(50);
    expect(offending).toEqual([]);
  });
});
