#!/usr/bin/env node
// Bench driver, run inside a namespace: empties xt_recent lists by writing '/' to each.
// Usage: node flush-lists.mjs [LIST...]   (no LIST: every list of the namespace)
import { readdirSync, writeFileSync } from 'node:fs';

const dir = '/proc/net/xt_recent';
const lists = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(dir);
for (const list of lists) writeFileSync(`${dir}/${list}`, '/');
