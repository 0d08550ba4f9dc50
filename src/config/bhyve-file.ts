/**
 * A bhyve config file (`bhyve -k FILE`, bhyve_config(5)) read the way bhyve reads it:
 * usr.sbin/bhyve/bhyverun.c, parse_simple_config_file() and parse_config_option(). Lines are split
 * at newlines; a line that is empty or starts with `#` is skipped; any other line must be
 * `key=value` with a non-empty value (nothing trimmed, nothing unquoted) or bhyve exits 4; the last
 * assignment of a key wins. Pure: the config checks and the simulator share it.
 */

/** `key=value` split at the first `=`; null where bhyve refuses it (no `=`, empty key or empty value). */
export function splitConfigOption(option: string): [key: string, value: string] | null {
  const equals = option.indexOf('=');
  if (equals <= 0 || equals === option.length - 1) return null;
  return [option.slice(0, equals), option.slice(equals + 1)];
}

/** One line of a bhyve config file that bhyve reads (not a comment, not empty). */
export interface BhyveFileLine {
  /** 1-based. */
  line: number;
  text: string;
  /** The assignment, or null when bhyve would refuse the line. */
  option: [key: string, value: string] | null;
}

/** The lines bhyve reads, in order. */
export function bhyveFileLines(text: string): BhyveFileLine[] {
  const lines: BhyveFileLine[] = [];
  text.split('\n').forEach((line, index) => {
    if (line === '' || line.startsWith('#')) return;
    lines.push({ line: index + 1, text: line, option: splitConfigOption(line) });
  });
  return lines;
}

/** Where a key's value comes from: its value and the line of its last assignment. */
export interface BhyveAssignment {
  value: string;
  line: number;
}

/** Every key's last assignment (bhyve keeps the last one); refused lines are left out. */
export function bhyveAssignments(text: string): Map<string, BhyveAssignment> {
  const assignments = new Map<string, BhyveAssignment>();
  for (const { line, option } of bhyveFileLines(text)) {
    if (option !== null) assignments.set(option[0], { value: option[1], line });
  }
  return assignments;
}

/** Every key's last value. */
export function bhyveConfigValues(text: string): Map<string, string> {
  return new Map([...bhyveAssignments(text)].map(([key, { value }]) => [key, value]));
}
