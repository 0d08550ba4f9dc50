import type { ConfigProblem } from '../src/config/types.js';
import type { VmStatus } from '../src/protocol/types.js';
import { ControlCommand, type DaemonConnection, describe, isControlError, optionalVmArg } from '../src/cli/base-command.js';

export default class Status extends ControlCommand {
  static override summary = 'Show the state of every VM (or of one) and any config problems.';
  static override description = describe(
    'The table lists NAME STATE PID UPTIME RESTARTS OWNER DESCRIPTION. UPTIME counts from the last state ' +
      'change while the VM runs; RESTARTS counts the automatic restarts in the current restart window. ' +
      'Failed VMs are listed below with their failure reason and bhyve\'s last exit, and VMs whose changed ' +
      'config waits for their next start are named, as are VMs whose worker does not answer; then come the problems found in the VM configs ' +
      '(file:line:column; anyone but root is shown the kind of each problem, not its message, which may quote ' +
      'the file). A named VM comes with its own config problems only, and a note when they are errors (it ' +
      'keeps its last good config). A named VM that does not exist (or is not yours to see) exits 1.',
    'With --json, the array of status objects from vmstated is printed as it is (without the config ' +
      'problems): name, state, pid (bhyve\'s, or null), workerPid (its vmstated worker\'s, or null), ' +
      'restarts, lastExit ({code, signal, meaning} of bhyve\'s last exit, or null), failureReason, owner, ' +
      'group, description, os, osversion, autostart, since (ISO time of the last state change), configFile, ' +
      'configPending (true when a changed config waits for the next start or restart), and, for a VM that ' +
      'has a worker, logProblem (why its log cannot be written right now, or null); only while a VM\'s worker ' +
      'does not answer, workerProblem ("its worker (pid N) does not answer"; commands on the VM fail until it does).',
  );
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status web',
    '<%= config.bin %> --json status',
    '<%= config.bin %> -s /tmp/vmstated.sock status',
  ];
  static override args = {
    vm: optionalVmArg('Only this VM.'),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Status);
    const connection = await this.connect(flags.socket);
    const vmArgs = args.vm === undefined ? {} : { vm: args.vm };
    const [vms, problems] = await Promise.all([
      this.requestStatus(connection, args.vm),
      flags.json ? Promise.resolve([]) : this.requestProblems(connection, vmArgs),
    ]);
    if (flags.json) {
      this.printJson(vms);
      return;
    }
    const [{ renderStatus }, { colourWanted }] = await Promise.all([import('../src/cli/status-view.js'), import('../src/cli/colour.js')]);
    process.stdout.write(renderStatus(vms, problems, { colour: colourWanted(), ...(args.vm !== undefined && { named: args.vm }) }));
  }

  private async requestStatus(connection: DaemonConnection, vm: string | undefined): Promise<VmStatus[]> {
    if (vm === undefined) return this.quickRequest<VmStatus[]>(connection, 'status');
    return this.vmRequest(vm, () => this.quickRequest<VmStatus[]>(connection, 'status', { vm }));
  }

  /** Config problems are extra information: a daemon that refuses them does not fail `status`. */
  private async requestProblems(connection: DaemonConnection, args: Record<string, unknown>): Promise<ConfigProblem[]> {
    try {
      return await this.quickRequest<ConfigProblem[]>(connection, 'problems', args);
    } catch (error) {
      if (isControlError(error)) return [];
      throw error;
    }
  }
}
