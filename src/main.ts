#!/usr/bin/env node
// Entry point: parse, run, map errors to exit codes (src/cli/program.ts).
import { main } from './cli/program.js';

process.exitCode = await main(process.argv);
