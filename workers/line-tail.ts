/** The last lines of a stream (bhyve's stderr): what a failed start shows the user. */

/** How many lines `BhyveProcess.stderrTail()` keeps. */
export const STDERR_TAIL_LINES = 20;
/** A line longer than this is cut (a flood without newlines must not grow the tail). */
const MAX_LINE_CHARS = 1000;

export class LineTail {
  private readonly kept: string[] = [];
  private partial = '';

  constructor(private readonly max = STDERR_TAIL_LINES) {}

  push(chunk: string): void {
    const pieces = (this.partial + chunk).split('\n');
    this.partial = pieces.pop()!.slice(0, MAX_LINE_CHARS);
    for (const line of pieces) this.keep(line);
  }

  /** The kept lines, oldest first, with a last line that had no newline. */
  lines(): string[] {
    return this.partial === '' ? [...this.kept] : [...this.kept, this.partial].slice(-this.max);
  }

  private keep(line: string): void {
    this.kept.push(line.replace(/\r$/, '').slice(0, MAX_LINE_CHARS));
    if (this.kept.length > this.max) this.kept.shift();
  }
}
