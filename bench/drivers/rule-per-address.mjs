#!/usr/bin/env node
// Bench driver, run inside a namespace: one `ip6tables -w -I perip -s IP -j DROP` per address, stopped after 60 s.
// Reads one address a line on stdin; prints {"n": rules inserted, "ms": milliseconds taken}.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const addresses = readFileSync(0, 'utf8').trim().split('\n');
const start = process.hrtime.bigint();
let n = 0;
for (const address of addresses) {
  spawnSync('ip6tables', ['-w', '-I', 'perip', '-s', address, '-j', 'DROP']);
  n++;
  if (Number(process.hrtime.bigint() - start) > 60e9) break;
}
console.log(JSON.stringify({ n, ms: Number(process.hrtime.bigint() - start) / 1e6 }));
