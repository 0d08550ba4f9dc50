import type { VmEvent } from '../src/protocol/types.js';
import { ControlCommand, daemonMessage, describe, failure, isControlError, vmArg } from '../src/cli/base-command.js';
import type { ConsoleEnd, ConsoleRequest, ConsoleSession } from '../src/cli/console-session.js';
import { EXIT } from '../src/cli/exit-codes.js';
import { Flags } from '../src/cli/oclif.js';
import { onInterrupt } from '../src/cli/stream.js';

const AT_REST = new Set(['stopped', 'failed']);

export default class Console extends ControlCommand {
  static override summary = "Attach to a VM's serial console (com1).";
  static override description = describe(
    "Connects the terminal to the guest's serial console through vmstated, so the VM's owner and " +
      'group members need neither root nor the nmdm device. The console is the one a bhyve config ' +
      'gives as lpc.com1.path=stdio (-l com1,stdio), which vmstated keeps on an nmdm(4) pair of its ' +
      'own. On attach, the recent output is printed first (up to 64 KiB: the login prompt printed ' +
      'before is there); -n limits it to the last lines, --no-history leaves it out.',
    'Detach with ~. at the start of a line (as cu and ssh; ~~ sends one ~) or with Ctrl-]. The terminal ' +
      'is in raw mode while attached (Ctrl-C goes to the guest) and is restored however the console ' +
      'ends: detach, the VM stopping, vmstated going away, SIGTERM or SIGHUP. Several viewers may ' +
      "attach at once; every viewer's keystrokes reach the guest, except with --read-only.",
    'When stdin is not a terminal, the output is streamed read-only (stdin is never read) until the VM ' +
      'stops or Ctrl-C. A VM that is not running is an error (exit 1); --wait waits until it starts. A ' +
      'console that vmstated ends because a reload withdrew your access to the VM exits 1 too.',
  );
  static override examples = [
    '<%= config.bin %> console web',
    '<%= config.bin %> start --no-wait web && <%= config.bin %> console --wait web',
    '<%= config.bin %> console --read-only -n 20 web',
    '<%= config.bin %> console web > web-console.txt',
  ];
  static override args = {
    vm: vmArg('The VM whose console to attach to.'),
  };
  static override flags = {
    lines: Flags.integer({ char: 'n', summary: 'Replay only the last N lines of recent output.', min: 0, helpValue: '<N>' }),
    'no-history': Flags.boolean({ summary: 'Do not replay recent output: show only what comes from now on.', default: false }),
    'read-only': Flags.boolean({ summary: 'Watch without sending keystrokes (and leave the terminal as it is).', default: false }),
    wait: Flags.boolean({ summary: 'If the VM is not running, wait until it starts, then attach.', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Console);
    const interactive = process.stdin.isTTY === true && !flags['read-only'];
    const request: ConsoleRequest = {
      vm: args.vm,
      history: flags['no-history'] ? 0 : flags.lines,
      readOnly: !interactive,
    };
    const session = await this.attach(flags.socket, request, flags.wait);
    const end = interactive ? await this.interact(session, args.vm) : await this.watch(session);
    if (end.kind === 'lost') notice(`${args.vm}: ${end.why}`, interactive);
    else if (end.kind === 'refused') notice(`${args.vm}: ${daemonMessage(end.error, args.vm)}`, interactive);
    else if (end.kind === 'ended') notice(`${args.vm}: the console closed: ${end.why}`, interactive);
    else if (interactive) notice(`detached from ${args.vm}'s console`, interactive);
    if (end.kind === 'lost') this.exit(EXIT.UNREACHABLE);
    if (end.kind === 'refused') this.exit(EXIT.FAILED);
  }

  /** Attaches; with --wait, a VM that is not running is waited for (its next start) instead of an error. */
  private async attach(socketPath: string, request: ConsoleRequest, wait: boolean): Promise<ConsoleSession> {
    const { ConsoleSession } = await import('../src/cli/console-session.js');
    const handlers = {
      output: (bytes: Buffer) => process.stdout.write(bytes),
      notice: (text: string) => notice(text, process.stdin.isTTY === true && !request.readOnly),
    };
    // Subscribed before the first attempt: a start between the attempt and the subscription is not missed.
    const starts = wait ? await this.startsOf(socketPath, request.vm) : null;
    for (;;) {
      try {
        const session = await ConsoleSession.attach(socketPath, request, handlers);
        starts?.close();
        process.stdout.on('drain', () => session.resume());
        return session;
      } catch (error) {
        if (!isControlError(error)) throw error;
        if (starts === null || error.code !== 'INVALID_STATE') throw failure(`${request.vm}: ${daemonMessage(error, request.vm)}`, EXIT.FAILED);
        await starts.next();
      }
    }
  }

  /** Resolves `next()` at each state change of `vm` into a state where it has a worker. */
  private async startsOf(socketPath: string, vm: string): Promise<{ next(): Promise<void>; close(): void }> {
    const connection = await this.connect(socketPath);
    let wake: (() => void) | null = null;
    let lost = false;
    void connection
      .events((event: VmEvent) => {
        if (event.type === 'state' && event.vm === vm && !AT_REST.has(event.state)) wake?.();
      }, { vm })
      .catch(() => {})
      .finally(() => {
        lost = true;
        wake?.();
      });
    return {
      close: () => connection.close(),
      next: () =>
        new Promise<void>((resolve, reject) => {
          if (lost) reject(failure(`${vm}: vmstated closed the connection while waiting for the VM to start`, EXIT.UNREACHABLE));
          else wake = resolve;
        }),
    };
  }

  /** Raw terminal, keystrokes to the guest, escapes read here; the terminal is restored on every way out. */
  private async interact(session: ConsoleSession, vm: string): Promise<ConsoleEnd> {
    const { EscapeReader } = await import('../src/cli/console-escape.js');
    const stdin = process.stdin;
    const restore = (): void => {
      if (stdin.isRaw) stdin.setRawMode(false);
    };
    process.on('exit', restore); // a backstop: whatever ends the process leaves a usable terminal
    stdin.setRawMode(true);
    notice(`attached to ${vm}'s console; ~. or Ctrl-] detaches`, true);
    session.start();
    const escapes = new EscapeReader();
    const onKeys = (typed: Buffer): void => {
      const { forward, detach } = escapes.push(typed);
      if (forward.length > 0) session.send(forward);
      if (detach) session.close();
    };
    stdin.on('data', onKeys);
    const release = onInterrupt(() => session.close());
    try {
      return await session.ended;
    } finally {
      release();
      stdin.off('data', onKeys);
      stdin.pause();
      restore();
      process.off('exit', restore);
    }
  }

  /** Output only, until the console ends or a signal (stdin is not read). */
  private async watch(session: ConsoleSession): Promise<ConsoleEnd> {
    const release = onInterrupt(() => session.close());
    session.start();
    try {
      return await session.ended;
    } finally {
      release();
    }
  }
}

/** A message of vmstatedctl's own, on stderr; on a terminal, on a line of its own whatever the guest printed last. */
function notice(text: string, raw: boolean): void {
  process.stderr.write(raw ? `\r\n[vmstatedctl: ${text}]\r\n` : `vmstatedctl: ${text}\n`);
}
