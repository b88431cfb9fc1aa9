import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appliedChainsFile } from '../../src/adapters/applied-chains.js';
import { scratchDir } from '../helpers/scratch.js';

describe('applied chains', () => {
  it('remembers per family what apply put in place, and forgets nothing of the other family', () => {
    const dir = scratchDir('xtban-applied-');
    const applied = appliedChainsFile(dir);
    expect([...applied.get(4)]).toEqual([]);
    applied.set(4, ['xtban-web', 'xtban-ssh']);
    applied.set(6, ['xtban-ssh']);
    expect([...appliedChainsFile(dir).get(4)]).toEqual(['xtban-ssh', 'xtban-web']);
    expect([...appliedChainsFile(dir).get(6)]).toEqual(['xtban-ssh']);
    expect(JSON.parse(readFileSync(join(dir, 'applied-chains.json'), 'utf8'))).toEqual({ 4: ['xtban-ssh', 'xtban-web'], 6: ['xtban-ssh'] });
  });

  it('takes a damaged record as nothing recorded: then nothing is removed', () => {
    const dir = scratchDir('xtban-applied-');
    for (const text of ['not json', '[1,2]', '{"4": "xtban-ssh"}', '{"4": [7, "xtban-ssh"]}']) {
      writeFileSync(join(dir, 'applied-chains.json'), text);
      expect([...appliedChainsFile(dir).get(4)].every((chain) => typeof chain === 'string')).toBe(true);
    }
    writeFileSync(join(dir, 'applied-chains.json'), 'not json');
    expect(appliedChainsFile(dir).get(4).size).toBe(0);
  });
});
