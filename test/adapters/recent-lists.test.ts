import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupedOrder, listWriteError, procLists } from '../../src/adapters/recent-lists.js';
import { XtbanError } from '../../src/core/errors.js';
import { parseRecentList } from '../../src/core/proc-format.js';
import { scratchDir } from '../helpers/scratch.js';

const captured = new URL('../../fixtures/proc/net/xt_recent', import.meta.url).pathname;

describe('procLists', () => {
  it('lists and reads a captured directory', async () => {
    const lists = procLists(captured);
    expect(await lists.names()).toEqual(['empty', 'full', 'ipv4', 'ipv6', 'mixed', 'wrapped']);
    expect(await lists.read('empty')).toBe('');
    expect(await lists.read('ipv4')).toContain('src=192.0.2.10 ttl: 0 ');
    expect(await lists.read('absent')).toBeUndefined();
    expect(await procLists(join(captured, 'no-such-dir')).names()).toEqual([]);
  });

  it('reads lists byte for byte, and a byte above 127 in a captured file fails as a malformed line', async () => {
    const dir = scratchDir('xtban-lists-');
    const good = 'src=192.0.2.10 ttl: 0 last_seen: 4294973232 oldest_pkt: 1 4294973232\n';
    await writeFile(join(dir, 'good'), good);
    // "192.0.2.1\u00e9": UTF-8 for the accent is two bytes, each above 127.
    await writeFile(join(dir, 'bad'), 'src=192.0.2.1\u00e9 ttl: 0 last_seen: 4294973232 oldest_pkt: 1 4294973232\n');
    const lists = procLists(dir);
    expect(await lists.read('good')).toBe(good);
    expect(parseRecentList((await lists.read('good')) ?? '', 'good').map((entry) => entry.address)).toEqual(['192.0.2.10']);
    const bad = (await lists.read('bad')) ?? '';
    expect(() => parseRecentList(bad, join(dir, 'bad'))).toThrow(/bad:1: malformed xt_recent line/);
  });

  it('writes one command per open and never creates a list', async () => {
    const directory = scratchDir('xtban-lists-');
    await writeFile(join(directory, 'xtban-ssh'), '');
    const lists = procLists(directory);
    lists.write('xtban-ssh', '+192.0.2.7');
    expect(await readFile(join(directory, 'xtban-ssh'), 'utf8')).toBe('+192.0.2.7');
    const error = (() => {
      try {
        lists.write('xtban-web', '+192.0.2.7');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(XtbanError);
    expect((error as XtbanError).exitCode).toBe(3);
    expect((error as XtbanError).message).toBe(`list xtban-web does not exist in ${directory}`);
    expect((error as XtbanError).hint).toContain('run `xtban apply` first');
    expect(await lists.names()).toEqual(['xtban-ssh']);
  });

  it('writes many commands and reports each failure on its own', async () => {
    const directory = scratchDir('xtban-many-');
    await writeFile(join(directory, 'a'), '');
    const before = process.cwd();
    const errors = procLists(directory).writeMany([
      { list: 'a', command: '+192.0.2.1' },
      { list: 'missing', command: '+192.0.2.2' },
      { list: 'a', command: '+192.0.2.3' },
    ]);
    expect(errors.map((error) => error?.message)).toEqual([undefined, `list missing does not exist in ${directory}`, undefined]);
    // Each command lands at offset 0, as the kernel wants it, whether the list was opened once or per write.
    expect(await readFile(join(directory, 'a'), 'utf8')).toBe('+192.0.2.3');
    expect(procLists(directory).writeMany([{ list: 'a', command: '-192.0.2.9' }])).toEqual([undefined]);
    expect(await readFile(join(directory, 'a'), 'utf8')).toBe('-192.0.2.9');
    expect(process.cwd()).toBe(before);
  });

  it('explains the kernel refusals it can meet', () => {
    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(listWriteError('l', '+x', '/proc/net/xt_recent', errno('EACCES')).hint).toContain('ip_list_uid');
    expect(listWriteError('l', '+x', '/proc/net/xt_recent', errno('EINVAL')).message).toBe('the kernel refused "+x" for list l');
  });
});

describe('groupedOrder', () => {
  it("groups each run of additions by list and leaves removals where they are: a move's addition before its removal, an eviction's removal before its addition", () => {
    const writes = [
      { list: 'b', command: '+1' },
      { list: 'a', command: '+2' },
      { list: 'b', command: '+3' },
      // A move of 4 from c to a: added to a, then removed from c.
      { list: 'a', command: '+4' },
      { list: 'c', command: '-4' },
      // An eviction in b: 9 out, then 5 in.
      { list: 'b', command: '-9' },
      { list: 'b', command: '+5' },
      { list: 'a', command: '+6' },
    ];
    const order = groupedOrder(writes);
    expect(order.map((index) => `${writes[index]?.list}${writes[index]?.command}`)).toEqual(['a+2', 'a+4', 'b+1', 'b+3', 'c-4', 'b-9', 'a+6', 'b+5']);
    expect([...order].sort((x, y) => x - y)).toEqual(writes.map((_, index) => index));
  });
});
