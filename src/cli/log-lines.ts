/** The shapes a `logs` reply or streamed chunk may take, reduced to lines of text. */

/** Accepts a string (possibly several lines), an array of strings, `{line}` or `{lines}`. */
export function logLines(value: unknown): string[] {
  if (typeof value === 'string') return value.split('\n').filter((line, index, all) => line !== '' || index < all.length - 1);
  if (Array.isArray(value)) return value.flatMap(logLines);
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (record.lines !== undefined) return logLines(record.lines);
    if (record.line !== undefined) return logLines(record.line);
  }
  return [];
}

/**
 * A log line as it may be shown on a terminal: a guest writes to its console, and its console goes
 * to the VM log, so a line may hold escape sequences that would retitle or clear the terminal of
 * whoever reads the log, or overwrite a line with a forged one. Control characters other than tab
 * are shown as cat -v shows them (ESC as ^[, DEL as ^?, U+009B as M-^[); a line's closing CR (a
 * console's CRLF) is dropped. --json keeps the line as it is.
 */
export function visibleControls(line: string): string {
  return line.replace(/\r$/, '').replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (char) => {
    const code = char.charCodeAt(0);
    if (code === 0x7f) return '^?';
    if (code > 0x7f) return `M-^${String.fromCharCode(code - 0x80 + 0x40)}`;
    return `^${String.fromCharCode(code + 0x40)}`;
  });
}
