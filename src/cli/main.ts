/**
 * vmstatedctl's entry: reorders argv (global options may come before the command), runs oclif,
 * and turns every outcome into one exit status and, on failure, one `vmstatedctl: ...` line.
 */
import { moveGlobalOptionsAfterCommand } from './argv.js';
import { EXIT } from './exit-codes.js';

interface OclifErrorShape {
  message: string;
  code?: string;
  oclif?: { exit?: number };
  stack?: string;
}

/** Exit status and what to print for an error that reached the top. */
export function describeTopLevelError(error: unknown): { exit: number; message: string | null } {
  const shaped = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as OclifErrorShape;
  // this.exit(n) in a command: the command already said what it had to say.
  if (shaped.code === 'EEXIT') return { exit: shaped.oclif?.exit ?? EXIT.FAILED, message: null };
  if (shaped.oclif?.exit !== undefined) {
    // oclif's own usage errors end with a hint line; keep the first lines, drop the styling.
    const text = shaped.message.replace(/\nSee more help with --help$/, '');
    const hint = shaped.oclif.exit === EXIT.USAGE ? "\n(see 'vmstatedctl --help')" : '';
    return { exit: shaped.oclif.exit, message: `vmstatedctl: ${text}${hint}` };
  }
  return { exit: EXIT.FAILED, message: `vmstatedctl: internal error: ${shaped.stack ?? shaped.message}` };
}

/** Ends the process once stdout and stderr have been handed to the OS (pipes are async on FreeBSD). */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = (): void => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

export async function main(rawArgv: readonly string[], root: string): Promise<void> {
  const argv = moveGlobalOptionsAfterCommand(rawArgv);
  const { run, flush } = await import('@oclif/core');
  let exit: number = EXIT.OK;
  try {
    await run(argv, root);
    await flush();
  } catch (error) {
    const outcome = describeTopLevelError(error);
    if (outcome.message !== null) process.stderr.write(outcome.message + '\n');
    exit = outcome.exit;
  }
  exitAfterFlush(exit);
}
