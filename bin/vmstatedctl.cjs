#!/usr/bin/env node
// vmstatedctl: the control client of vmstated(8). It runs from one bundle, dist/src/cli/vmstatedctl.cjs,
// made by `npm run build` and loaded with V8's code cache (src/cli/bundle-loader.cts).
'use strict';
require('../dist/src/cli/bundle-loader.cjs').loadCli().main(process.argv.slice(2));
