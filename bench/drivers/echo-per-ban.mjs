#!/usr/bin/env node
// Bench driver, run inside a namespace: fail2ban's xt_recent action, one `sh -c 'echo +IP > LIST'` per ban.
// Reads one address a line on stdin, writes each to /proc/net/xt_recent/echo; prints the milliseconds taken.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const addresses = readFileSync(0, 'utf8').trim().split('\n');
const start = process.hrtime.bigint();
for (const address of addresses) spawnSync('sh', ['-c', `echo +${address} > /proc/net/xt_recent/echo`]);
console.log(Number(process.hrtime.bigint() - start) / 1e6);
