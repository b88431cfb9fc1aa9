#!/usr/bin/env node
// Bench driver, run inside a namespace: appends one sshd failure line for a new address to LOG, then polls
// LIST every millisecond until the address is there (-1 after 10 s), TRIALS times, 20 ms apart.
// Usage: node detection-latency.mjs LOG LIST TRIALS; prints the latencies in milliseconds as a JSON array.
import { appendFileSync, readFileSync } from 'node:fs';

const [log, list, trialsText] = process.argv.slice(2);
if (log === undefined || list === undefined || trialsText === undefined) {
  console.error('usage: detection-latency.mjs LOG LIST TRIALS');
  process.exit(2);
}
const trials = Number(trialsText);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const out = [];
for (let i = 0; i < trials; i++) {
  const address = `198.51.100.${i + 1}`;
  const now = new Date();
  const line = `${now.toLocaleString('en-US', { month: 'short' })} ${String(now.getDate()).padStart(2, ' ')} ${now.toTimeString().slice(0, 8)} host sshd[1000]: Failed password for root from ${address} port 4242 ssh2\n`;
  const start = process.hrtime.bigint();
  appendFileSync(log, line);
  for (;;) {
    let text = '';
    try {
      text = readFileSync(list, 'utf8');
    } catch {
      // the list is not there yet
    }
    if (text.includes(`src=${address} `)) break;
    if (Number(process.hrtime.bigint() - start) > 10e9) {
      out.push(-1);
      break;
    }
    await sleep(1);
  }
  if (out.length === i) out.push(Number(process.hrtime.bigint() - start) / 1e6);
  await sleep(20);
}
console.log(JSON.stringify(out));
