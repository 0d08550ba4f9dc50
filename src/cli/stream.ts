/** Helpers for the commands that stream until Ctrl-C: events, logs -f, top. */

/**
 * Calls `stop` once on SIGINT, SIGTERM or SIGHUP, or when stdout's reader goes away (EPIPE, e.g.
 * `| head`). Returns a function that removes the handlers again.
 */
export function onInterrupt(stop: () => void): () => void {
  let stopped = false;
  const once = (): void => {
    if (stopped) return;
    stopped = true;
    stop();
  };
  const onStdoutError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') once();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, once);
  process.stdout.on('error', onStdoutError);
  return () => {
    for (const signal of signals) process.off(signal, once);
    process.stdout.off('error', onStdoutError);
  };
}

/** Writes one line to stdout. */
export function printLine(line: string): void {
  process.stdout.write(line + '\n');
}

/** Ends the process once stdout and stderr were handed to the OS (pipes are asynchronous on FreeBSD). */
export function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = (): void => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
