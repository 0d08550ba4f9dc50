import { Flags } from './oclif.js';
/** The shared body of `start`, `stop`, `restart` and `failreset`: `<action> vm...`. */
import { ControlCommand, failure } from './base-command.js';
import { EXIT } from './exit-codes.js';
import { exitAfterFlush, onInterrupt } from './stream.js';
import type { VmAction } from './vm-action.js';

/** The shell's status for a command ended by SIGINT (128 + 2). */
const INTERRUPTED_EXIT = 130;

export abstract class VmActionCommand extends ControlCommand {
  static waitFlags = {
    wait: Flags.boolean({
      summary: 'Wait for the outcome (the default); --no-wait returns once vmstated accepted the request.',
      default: true,
      allowNo: true,
    }),
  };

  protected abstract readonly action: VmAction;

  protected async runAction(argv: unknown[], flags: { socket: string; json: boolean; wait?: boolean }): Promise<void> {
    // No VM at all is refused by oclif already (the vm argument is required).
    const vms = argv.map(String);
    const unknownFlag = vms.find((vm) => vm.startsWith('-'));
    if (unknownFlag !== undefined) throw failure(`${this.action}: unknown flag ${unknownFlag}`, EXIT.USAGE);
    const wait = flags.wait ?? true;
    const [{ runVmAction, successLine, followEvents }, { colourWanted }] = await Promise.all([import('./vm-action.js'), import('./colour.js')]);
    const colour = !flags.json && colourWanted();
    const connection = await this.connect(flags.socket);

    const live = wait && !flags.json && this.action !== 'failreset' && process.stdout.isTTY === true;
    let display: import('./progress.js').ProgressDisplay | undefined;
    if (live) {
      const { ProgressDisplay } = await import('./progress.js');
      const progress = new ProgressDisplay(new Set(vms), process.stdout, Date.now, colour);
      display = progress;
      followEvents(await this.connect(flags.socket), vms, (event) => progress.onEvent(event));
    }

    // Ctrl-C stops the waiting, not the action: say so, so nobody thinks the VMs were left alone.
    const release = onInterrupt(() => {
      display?.stop();
      process.stderr.write(`\nvmstatedctl: interrupted; vmstated carries on with: ${this.action} ${vms.join(' ')}\n`);
      exitAfterFlush(INTERRUPTED_EXIT);
    });
    const outcomes = await runVmAction(connection, this.action, vms, wait).finally(() => {
      release();
      display?.stop();
    });
    if (flags.json) this.printJson(outcomes);
    for (const outcome of outcomes) {
      if (!outcome.ok) {
        this.reportVmError(outcome.vm, outcome.error ?? `${this.action} failed`);
        if (outcome.bhyveStderr !== undefined) this.reportVmError(outcome.vm, `bhyve's last lines on stderr:\n${outcome.bhyveStderr.map((line) => `  ${line}\n`).join('')}`.trimEnd());
      }
      else if (!flags.json) process.stdout.write(successLine(this.action, outcome, wait, colour) + '\n');
    }
    if (outcomes.some((outcome) => !outcome.ok)) this.exit(EXIT.FAILED);
  }
}
