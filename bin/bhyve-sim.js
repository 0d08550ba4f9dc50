#!/usr/bin/env node
// The bhyve simulator (see `bhyve-sim.js --help`): stands in for /usr/sbin/bhyve off FreeBSD.
// It runs from the bundle of src/bhyvesim/bhyve.ts made by `npm run build`.
import { runBhyve } from '../dist/src/bhyvesim/bhyve-sim.mjs';

runBhyve(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`bhyve-sim: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(71);
});
