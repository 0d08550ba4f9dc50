/** vmstated(8): the entry point. Parses the command line, then checks, daemonizes or serves. */
import fs from 'node:fs';
import { EX_USAGE } from '../shared/sysexits.js';
import { HELP, USAGE, UsageError, parseOptions } from './options.js';
import type { DaemonOptions } from './options.js';

/** Runs vmstated with `argv` (without node and the script) and resolves to its exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: DaemonOptions;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}`);
    return EX_USAGE;
  }
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (options.version) {
    // dist/src/daemon/main.js: the package root is three levels up.
    const { version } = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`vmstated ${version}\n`);
    return 0;
  }
  if (options.checkOnly) {
    const { checkConfigs } = await import('./check.js');
    return checkConfigs(options.configdir);
  }
  const { run } = await import('./run.js');
  return run(options, argv);
}
