#!/usr/bin/env node
// vmstatedctl: the control client of vmstated(8). The code lives in dist/src/cli (built by tsc).
import { main } from '../dist/src/cli/main.js';

await main(process.argv.slice(2));
