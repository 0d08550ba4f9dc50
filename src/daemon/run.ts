/** Serving mode: filled in by the daemon modules. */
import type { DaemonOptions } from './options.js';

export async function run(_options: DaemonOptions, _argv: readonly string[]): Promise<number> {
  process.stderr.write('vmstated: serving mode is not built yet\n');
  return 1;
}
