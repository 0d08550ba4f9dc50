#!/usr/bin/env node
// vmstated(8): the bhyve supervisor daemon. The code lives in src/daemon (compiled to dist/).
import { main } from '../dist/src/daemon/main.js';

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err) => {
    process.stderr.write(`vmstated: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
