/**
 * What a user other than root may read of a config problem: where it is (file, line, column),
 * its severity and its kind, never the message, which may quote the file (a bhyve config line, a
 * key, the first line of whatever a `configfile` link points to).
 */
import type { ConfigProblem } from './types.js';

/** The problem with its message replaced by its kind. */
export function redactProblem(problem: ConfigProblem): ConfigProblem {
  return { ...problem, message: problem.kind };
}

/** The problems as the peer with this uid may read them: root (uid 0) in full, anyone else redacted. */
export function problemsForUid(uid: number, problems: readonly ConfigProblem[]): ConfigProblem[] {
  return uid === 0 ? [...problems] : problems.map(redactProblem);
}
