#!/usr/bin/env node
// Entry point: parse, run, map errors to exit codes (src/cli/program.ts).
import { main } from './cli/program.js';

// A reader that goes away (`xtban status --json | head`) ends the output, quietly, as for any Unix
// tool: no stack trace. Other write errors still surface.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await main(process.argv);
