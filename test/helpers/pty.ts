/**
 * A shell command under a pseudo-terminal, with script(1) (util-linux, in Debian's essential
 * bsdutils): what it prints, keystrokes typed into the terminal (Ctrl-C is "\x03": the terminal
 * then signals its foreground process group, as a user's would), and its exit status (script -e).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './vmstated-env.js';

export interface PtyCommand {
  child: ChildProcess;
  readonly output: string;
  type(text: string): void;
  /** Waits until the command ended (fails after timeoutMs, 15 s by default, with what it printed). */
  exitStatus(what: string, timeoutMs?: number): Promise<number | null>;
}

export function spawnUnderPty(command: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): PtyCommand {
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  let output = '';
  let exit: { code: number | null } | undefined;
  child.on('exit', (code) => (exit = { code }));
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
  return {
    child,
    get output() {
      return output;
    },
    type: (text: string) => child.stdin.write(text),
    exitStatus: async (what, timeoutMs) => {
      try {
        return (await waitFor(what, () => exit, timeoutMs)).code;
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- what it printed ---\n${output}`);
      }
    },
  };
}
