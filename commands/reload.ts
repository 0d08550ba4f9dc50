import type { ConfigProblem } from '../src/config/types.js';
import { ControlCommand, describe, isControlError, type DaemonConnection } from '../src/cli/base-command.js';
import { EXIT } from '../src/cli/exit-codes.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export default class Reload extends ControlCommand {
  static override summary = 'Make vmstated re-read the VM configs (like SIGHUP).';
  static override description = describe(
    'vmstated re-reads every VM config: new VMs appear (autostart ones start), removed VMs are stopped and ' +
      'dropped, and a changed config applies at once to a stopped VM and at the next start to a running one ' +
      '(status marks it; restart applies it); a broken config leaves the VM on its last good one. One sentence ' +
      'says what happened, e.g. "reloaded: 1 added (mail), 1 changed (db); 1 error: web keeps its last good config"; the ' +
      'problems found follow on stderr (file:line:column). The exit status is 1 when any of them is an error ' +
      '(that VM config was rejected), as with vmstated -n. Only root may reload.',
    'With --json: {added, removed, changed, kept, rejected, errors, warnings, problems}: the VM names in each ' +
      'list (kept: broken configs whose VM keeps its last good one; rejected: new VMs not loaded, or their ' +
      'file when no name could be read), the numbers of errors and warnings, and the problems.',
  );
  static override examples = ['<%= config.bin %> reload', '<%= config.bin %> --json reload'];

  async run(): Promise<void> {
    const { flags } = await this.parse(Reload);
    const connection = await this.connect(flags.socket);
    const result = await this.quickRequest<unknown>(connection, 'reload');
    const problems =
      isObject(result) && Array.isArray(result.problems)
        ? (result.problems as ConfigProblem[])
        : await this.currentProblems(connection);
    if (flags.json) {
      this.printJson(isObject(result) ? { ...result, problems } : { result, problems });
    } else {
      const [{ formatProblem }, { reloadSentence }] = await Promise.all([import('../src/cli/status-view.js'), import('../src/cli/reload-view.js')]);
      const counted = {
        errors: problems.filter((problem) => problem.severity === 'error').length,
        warnings: problems.filter((problem) => problem.severity === 'warning').length,
      };
      process.stdout.write(`${reloadSentence({ ...counted, ...(isObject(result) ? result : {}) })}\n`);
      for (const problem of problems) process.stderr.write(`vmstatedctl: ${formatProblem(problem)}\n`);
    }
    if (problems.some((problem) => problem.severity === 'error')) this.exit(EXIT.FAILED);
  }

  private async currentProblems(connection: DaemonConnection): Promise<ConfigProblem[]> {
    try {
      return await this.quickRequest<ConfigProblem[]>(connection, 'problems');
    } catch (error) {
      if (isControlError(error)) return [];
      throw error;
    }
  }
}
