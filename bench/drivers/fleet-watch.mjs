#!/usr/bin/env node
// Bench driver, run inside one host's namespace of the fleet figure: reads addresses on stdin, one a
// line, and polls LIST every millisecond until each is there; prints "ADDRESS EPOCH_MS" when it is (the
// wall clock: every namespace shares this machine's), or "ADDRESS -1" after 10 s.
// Usage: node fleet-watch.mjs LIST
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [list] = process.argv.slice(2);
if (list === undefined) {
  console.error('usage: fleet-watch.mjs LIST');
  process.exit(2);
}
const waiting = new Map();
createInterface({ input: process.stdin }).on('line', (line) => {
  const address = line.trim();
  if (address !== '') waiting.set(address, Date.now());
});
process.stdin.on('end', () => setTimeout(() => process.exit(0), 11_000));
setInterval(() => {
  if (waiting.size === 0) return;
  let text = '';
  try {
    text = readFileSync(list, 'utf8');
  } catch {
    // not there yet
  }
  for (const [address, since] of waiting) {
    if (text.includes(`src=${address} `)) {
      process.stdout.write(`${address} ${Date.now()}\n`);
      waiting.delete(address);
    } else if (Date.now() - since > 10_000) {
      process.stdout.write(`${address} -1\n`);
      waiting.delete(address);
    }
  }
}, 1);
