import { describe, vmArg } from '../src/cli/base-command.js';
import { VmActionCommand } from '../src/cli/vm-action-command.js';

export default class Stop extends VmActionCommand {
  static override summary = 'Stop VMs and wait until they are stopped.';
  static override description = describe(
    'Asks each guest to power off (ACPI, SIGTERM to bhyve); after the VM\'s stoptimeout the power-off is ' +
      'forced, then bhyve is killed. On a terminal the time left before the force is shown. Then ' +
      'stop_storage and stop_network run. A stopped VM counts as done. Exits 1 if any VM failed to stop ' +
      'cleanly, or was failed already (it stays failed).',
    'Each VM\'s last line is "<vm>: stopped", followed by "; forced power-off after N s (stoptimeout)" when ' +
      'the guest did not power off by itself (", then SIGKILL 5 s later" when that did not end bhyve either, or ' +
      '"; SIGKILL after the forced power-off failed (...)" when bhyvectl failed), and by "; bhyvectl --destroy ' +
      'failed: ... (the VM\'s memory may stay reserved)" when its vmm instance could not be destroyed; with --json ' +
      'these texts are the "forced" and "destroyFailed" members of the VM\'s object.',
    'Ctrl-C only stops the waiting (exit 130): vmstated carries on with the request.',
  );
  static override examples = [
    '<%= config.bin %> stop web',
    '<%= config.bin %> stop web db',
    '<%= config.bin %> stop --no-wait web',
  ];
  static override args = {
    vm: vmArg('The VM(s) to stop; several are handled in parallel.'),
  };
  // Several VMs: oclif copies only own static properties, so strict must be set here.
  static override strict = false;
  static override flags = VmActionCommand.waitFlags;

  protected readonly action = 'stop';

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Stop);
    await this.runAction(argv, flags);
  }
}
