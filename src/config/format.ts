/** Printing config problems the way compilers do, so editors can jump to them. */
import type { ConfigProblem } from './types.js';

/** `file:line:column: error: message` (or `warning:`); `file: error: message` for a whole file. */
export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}:${problem.column}` : problem.file;
  return `${where}: ${problem.severity}: ${problem.message}`;
}
