/**
 * vmstatedctl's entry: reorders argv (global options may come before the command), runs oclif,
 * and turns every outcome into one exit status and, on failure, one `vmstatedctl: ...` line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { moveGlobalOptionsAfterCommand } from './argv.js';
import { EXIT } from './exit-codes.js';
import { Config, flush, Plugin, run } from './oclif.js';
import { exitAfterFlush } from './stream.js';

interface OclifErrorShape {
  message: string;
  code?: string;
  oclif?: { exit?: number };
  stack?: string;
}

/**
 * Exit status and what to print for an error that reached the top. `command` is the command that
 * was run, when it exists: a usage error then points at that command's help, which lists its flags.
 */
export function describeTopLevelError(error: unknown, command?: string): { exit: number; message: string | null } {
  const shaped = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as OclifErrorShape;
  // this.exit(n) in a command: the command already said what it had to say.
  if (shaped.code === 'EEXIT') return { exit: shaped.oclif?.exit ?? EXIT.FAILED, message: null };
  if (shaped.oclif?.exit !== undefined) {
    // oclif's own usage errors end with a hint line; keep the first lines, drop the styling. A flag
    // whose value does not parse comes as "Parsing --lines \n\tExpected ...": one line instead.
    const text = shaped.message
      .replace(/\nSee more help with --help$/, '')
      .replace(/^Parsing (--?[\w-]+) \n\t(\w)/, (_, flag: string, first: string) => `${flag}: ${first.toLowerCase()}`);
    const help = command === undefined ? 'vmstatedctl --help' : `vmstatedctl ${command} --help`;
    const hint = shaped.oclif.exit === EXIT.USAGE ? `\n(see '${help}')` : '';
    return { exit: shaped.oclif.exit, message: `vmstatedctl: ${text}${hint}` };
  }
  return { exit: EXIT.FAILED, message: `vmstatedctl: internal error: ${shaped.stack ?? shaped.message}` };
}

/** The package root (dist/src/cli/main.js, and the bundle beside it, are three levels below it). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI_BUNDLE_PATH = 'dist/src/cli/vmstatedctl.cjs';

/**
 * True when oclif.manifest.json (written by `npm run build`) is older than the vmstatedctl bundle:
 * oclif would trust its stale flags and arguments.
 */
export function manifestIsStale(packageRoot: string): boolean {
  let manifestTime: number;
  try {
    manifestTime = fs.statSync(path.join(packageRoot, 'oclif.manifest.json')).mtimeMs;
  } catch {
    return false; // no manifest: oclif builds the commands' flags itself
  }
  try {
    return fs.statSync(path.join(packageRoot, CLI_BUNDLE_PATH)).mtimeMs > manifestTime;
  } catch {
    return true;
  }
}

/**
 * oclif's Config for vmstatedctl, built from our own package.json and manifest: no search for the
 * package root, no lilconfig scan, no user/dev plugin discovery (vmstatedctl has no plugins).
 * A stale manifest is ignored: oclif then builds the commands' flags from the bundle.
 */
async function loadConfig(): Promise<Config> {
  const pjson = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as ConstructorParameters<typeof Plugin>[0]['pjson'];
  const ignoreManifest = manifestIsStale(PACKAGE_ROOT);
  const plugin = new Plugin({ root: PACKAGE_ROOT, pjson, isRoot: true, ignoreManifest });
  await plugin.load();
  return Config.load({ root: PACKAGE_ROOT, pjson, plugins: new Map([[plugin.name, plugin]]) });
}

export async function main(rawArgv: readonly string[]): Promise<void> {
  const argv = moveGlobalOptionsAfterCommand(rawArgv);
  let exit: number = EXIT.OK;
  let command: string | undefined;
  try {
    const config = await loadConfig();
    if (argv[0] !== undefined && config.findCommand(argv[0]) !== undefined) command = argv[0];
    await run(argv, config);
    await flush();
  } catch (error) {
    const outcome = describeTopLevelError(error, command);
    if (outcome.message !== null) process.stderr.write(outcome.message + '\n');
    exit = outcome.exit;
  }
  exitAfterFlush(exit);
}
