import { Flags } from '../src/cli/oclif.js';
import { ControlCommand, describe } from '../src/cli/base-command.js';

export default class Shutdown extends ControlCommand {
  static override summary = 'Stop vmstated, and every VM unless --keep-vms.';
  static override description = describe(
    'Without --keep-vms, vmstated stops every VM in reverse start order (each guest is asked to power ' +
      'off and forced after its stoptimeout), then exits. With --keep-vms it exits and leaves the VMs ' +
      'running under their workers; a vmstated started later takes them over. The command returns as soon ' +
      'as vmstated accepted the request, before the VMs are stopped: wait for its process to end (as ' +
      '"service vmstated stop" does) to know it is done. Only root may shut down.',
  );
  static override examples = ['<%= config.bin %> shutdown', '<%= config.bin %> shutdown --keep-vms'];
  static override flags = {
    'keep-vms': Flags.boolean({ summary: 'Leave the VMs running; only vmstated exits.', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Shutdown);
    const connection = await this.connect(flags.socket);
    const result = await connection.request<unknown>('shutdown', { keepVms: flags['keep-vms'] });
    if (flags.json) {
      this.printJson(result ?? null);
      return;
    }
    process.stdout.write(
      flags['keep-vms']
        ? 'vmstated is shutting down; the VMs keep running\n'
        : 'vmstated is shutting down after stopping every VM\n',
    );
  }
}
