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
