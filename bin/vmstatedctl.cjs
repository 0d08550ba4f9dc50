#!/usr/bin/env node
// vmstatedctl: the control client of vmstated(8). It runs from one bundle, dist/src/cli/vmstatedctl.cjs,
// made by `npm run build` and loaded with V8's code cache (src/cli/bundle-loader.cts).
'use strict';
let cli;
try {
  cli = require('../dist/src/cli/bundle-loader.cjs').loadCli();
} catch (error) {
  process.stderr.write(`vmstatedctl: ${error.message}\n`);
  process.exit(1);
}
cli.main(process.argv.slice(2));
