#!/usr/bin/env node
// The Node implementation of the bhyvectl simulator (see `bhyvectl-sim --help`); bin/bhyvectl-sim,
// its sh front end, stands in for /usr/sbin/bhyvectl and runs this for what it does not answer itself.
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
