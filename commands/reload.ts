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
      '(status marks it); a broken config leaves the VM on its last good one. The problems found are ' +
      'printed on stderr (file:line:column); the exit status is 1 when any of them is an error (that VM ' +
      'config was rejected), as with vmstated -n. Only root may reload.',
    'With --json: {added, removed, changed, kept, errors, warnings, problems}, the VM names in each list.',
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
      const { formatProblem } = await import('../src/cli/status-view.js');
      process.stdout.write('vmstated reloaded its VM configs\n');
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
