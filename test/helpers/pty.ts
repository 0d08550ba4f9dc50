/**
 * Running a command under a pseudo-terminal, for what a program does only on a terminal (colours,
 * top's alternate screen, progress lines, the console, the demo's Ctrl-C). util-linux script(1)
 * (Debian's essential bsdutils) makes the pty: stdin, stdout and stderr of the command are its
 * terminal; what is typed goes in through script's stdin (Ctrl-C is "\x03": the terminal then
 * signals its foreground process group, as a user's would).
 *
 * script runs the command with $SHELL -c, which is then in that process group too, unlike a user's
 * interactive shell (job control keeps it out). The shell is always sh(1), the same on every machine,
 * and it traps SIGINT so that Ctrl-C reaches only the command: dash, Debian's sh, would die of it and
 * script would report 130 whatever the command did.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './vmstated-env.js';

export interface PtyRun {
  child: ChildProcess;
  /** Everything the terminal showed so far (stdout and stderr mixed, as on a screen). */
  readonly output: string;
  type(text: string): void;
  /** Waits until the output matches `pattern`; returns the match. */
  waitForOutput(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** script's exit status: the command's own (-e). */
  exited: Promise<number | null>;
  /** The exit status, failing after timeoutMs (15 s by default) with what the terminal showed. */
  exitStatus(what: string, timeoutMs?: number): Promise<number | null>;
}

/** `argv` as one sh(1) command line. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
}

/** Runs the sh(1) command line `command` on a new pseudo-terminal. */
export function underPty(command: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): PtyRun {
  const env = { ...(options.env ?? process.env), SHELL: '/bin/sh' };
  const child = spawn('script', ['-qec', `trap : INT\n${command}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], cwd: options.cwd, env });
  let output = '';
  let exit: { code: number | null } | undefined;
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exit = { code };
      resolve(code);
    }),
  );
  const showing = (error: Error): never => {
    throw new Error(`${error.message}; the terminal showed: ${JSON.stringify(output)}`);
  };
  return {
    child,
    get output() {
      return output;
    },
    type: (text: string) => child.stdin.write(text),
    waitForOutput: (pattern, what, timeoutMs = 15_000) => waitFor(what, () => output.match(pattern) ?? undefined, timeoutMs).catch(showing),
    exited,
    exitStatus: async (what, timeoutMs) => (await waitFor(what, () => exit, timeoutMs).catch(showing)).code,
  };
}
