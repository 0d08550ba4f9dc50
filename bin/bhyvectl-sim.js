#!/usr/bin/env node
// The bhyvectl simulator (see `bhyvectl-sim.js --help`): stands in for /usr/sbin/bhyvectl.
import { runBhyvectl } from '../dist/src/bhyvesim/bhyvectl.js';

runBhyvectl(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err) => {
    process.stderr.write(`bhyvectl-sim: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 71;
  },
);
