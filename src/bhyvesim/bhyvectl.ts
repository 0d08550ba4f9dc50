/**
 * The simulated bhyvectl(8): `--vm=NAME` with `--create`, `--destroy`, `--force-reset`,
 * `--force-poweroff` (applied in bhyvectl's order: create, open, reset, poweroff, destroy),
 * plus simulator-only options to script a running guest.
 */
import { type ControlReply, type ControlRequest, EALREADY, EEXIST, type NoReply, sendControl } from './control.js';
import { SimExit } from './failure.js';
import { EX_OSERR } from '../shared/sysexits.js';
import { RUNTIME_ACTIONS, type RuntimeAction } from './guest.js';
import { consoleLine, diagnostic } from './output.js';
import { controlSocketPath, simStateDir } from './paths.js';
import { readVmmRecord, removeVmmRecord, type SuspendHow, type VmmRecord, writeVmmRecord } from './record.js';

export function bhyvectlUsage(progname = 'bhyvectl'): string {
  return [
    `Usage: ${progname} --vm=<vmname>`,
    '       [--create]',
    '       [--destroy]',
    '       [--force-reset]',
    '       [--force-poweroff]',
    '       [--get-active-cpus] [--get-stats] (accepted, print little)',
    '',
    'This is the bhyvectl simulator of vmstated. Like bhyvectl, it prints',
    '"VM:<vmname> is not created." and exits 1 when /dev/vmm/<vmname> does not exist, and',
    '"errno = 37" (EALREADY) with exit 255 when forcing a VM that is already suspended.',
    'Simulator-only options (need a running simulated bhyve unless noted):',
    `  --sim-guest=ACTION   make the guest act now: ${RUNTIME_ACTIONS.join(', ')}`,
    '                       (reboot exit 0, poweroff 1, halt 2, triplefault 3, error 4,',
    '                       vm_run_error "vm_run error" on stderr then exit 1,',
    '                       abort SIGABRT; ignore-acpi (or hang) / honour-acpi: whether',
    '                       it shuts down on SIGTERM, the ACPI power button)',
    '  --sim-console=TEXT   print TEXT as a line on the guest console (bhyve\'s stdout)',
    '  --sim-show           print the instance record as JSON, with "running": true|false',
    '                       (works on a stopped instance too)',
    'State: $BHYVE_SIM_DIR (default <tmpdir>/bhyve-sim-<uid>), shared with bhyve-sim.',
  ].join('\n');
}

interface BhyvectlOptions {
  vm: string | null;
  create: boolean;
  destroy: boolean;
  forceReset: boolean;
  forcePoweroff: boolean;
  show: boolean;
  activeCpus: boolean;
  guest: RuntimeAction | null;
  console: string | null;
}

class UsageError extends Error {}

const VALUE_OPTIONS = new Set(['vm', 'sim-guest', 'sim-console', 'cpu']);

function parseOptions(argv: string[]): BhyvectlOptions | 'help' {
  const options: BhyvectlOptions = {
    vm: null, create: false, destroy: false, forceReset: false, forcePoweroff: false,
    show: false, activeCpus: false, guest: null, console: null,
  };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === '--help' || argument === '-h') return 'help';
    if (!argument.startsWith('--')) throw new UsageError(`unexpected argument '${argument}'`);
    const equals = argument.indexOf('=');
    const key = argument.slice(2, equals < 0 ? undefined : equals);
    let value: string | null = equals < 0 ? null : argument.slice(equals + 1);
    if (VALUE_OPTIONS.has(key) && value === null) {
      index++;
      if (index >= argv.length) throw new UsageError(`option '--${key}' requires an argument`);
      value = argv[index];
    }
    applyOption(options, key, value);
  }
  return options;
}

function applyOption(options: BhyvectlOptions, key: string, value: string | null): void {
  switch (key) {
    case 'vm': options.vm = value; return;
    case 'cpu': return;
    case 'create': options.create = true; return;
    case 'destroy': options.destroy = true; return;
    case 'force-reset': options.forceReset = true; return;
    case 'force-poweroff': options.forcePoweroff = true; return;
    case 'get-active-cpus': options.activeCpus = true; return;
    case 'get-stats': return;
    case 'sim-show': options.show = true; return;
    case 'sim-console': options.console = value; return;
    case 'sim-guest':
      if (!(RUNTIME_ACTIONS as readonly (string | null)[]).includes(value)) {
        throw new UsageError(`--sim-guest wants one of ${RUNTIME_ACTIONS.join(', ')}`);
      }
      options.guest = value as RuntimeAction;
      return;
    default:
      throw new UsageError(`unrecognized option '--${key}'`);
  }
}

/** bhyvectl's report of a failed vmmapi call: `errno = N` on stdout, exit(-1). */
function errnoExit(errno: number): number {
  consoleLine(`errno = ${errno}`);
  return 255;
}

/** Sends a request to the running bhyve of `vm`; 'not-running' when there is none. */
async function request(stateDir: string, vm: string, message: ControlRequest): Promise<ControlReply | NoReply> {
  return sendControl(controlSocketPath(stateDir, vm), message);
}

function noAnswer(vm: string): SimExit {
  return new SimExit(EX_OSERR, `bhyvectl-sim: VM ${vm}: its bhyve holds the instance but does not answer (stopped?)`);
}

/** vm_suspend(): on a running bhyve it exits; on an idle instance the suspension is recorded. */
async function forceSuspend(stateDir: string, record: VmmRecord, how: SuspendHow & ('reset' | 'poweroff')): Promise<number | null> {
  if (record.suspended !== null) return errnoExit(EALREADY);
  const reply = await request(stateDir, record.name, { op: 'suspend', how });
  if (reply === 'not-running') {
    writeVmmRecord({ ...record, suspended: how }, stateDir);
    return null;
  }
  if (reply === 'no-answer') throw noAnswer(record.name);
  return reply.ok ? null : errnoExit(reply.errno);
}

/** Runs the simulated bhyvectl; resolves to its exit status. */
export async function runBhyvectl(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await bhyvectl(argv, env);
  } catch (error) {
    if (!(error instanceof SimExit)) throw error;
    diagnostic(error.message);
    return error.exitCode;
  }
}

async function bhyvectl(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let options: BhyvectlOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    diagnostic(`bhyvectl: ${error.message}\n${bhyvectlUsage()}`);
    return 1;
  }
  if (options === 'help') {
    consoleLine(bhyvectlUsage());
    return 0;
  }
  if (options.vm === null || options.vm === '') {
    diagnostic(bhyvectlUsage());
    return 1;
  }
  const vm = options.vm;
  const stateDir = simStateDir(env);
  if (vm.includes('/') || vm === '.' || vm === '..') {
    // No such device node can exist under /dev/vmm.
    consoleLine(`VM:${vm} is not created.`);
    return 1;
  }

  if (options.create) {
    if (readVmmRecord(vm, stateDir) !== null) return errnoExit(EEXIST);
    const now = new Date().toISOString();
    writeVmmRecord({
      name: vm, pid: null, memoryBytes: 0, cpus: 1, createdAt: now, bootedAt: null,
      launches: 0, configFile: null, suspended: null, exit: null,
    }, stateDir);
  }
  let record = readVmmRecord(vm, stateDir);
  if (record === null) {
    consoleLine(`VM:${vm} is not created.`);
    return 1;
  }
  if (options.show) {
    const running = (await request(stateDir, vm, { op: 'ping' })) !== 'not-running';
    consoleLine(JSON.stringify({ ...record, running }, null, 2));
  }
  if (options.activeCpus) {
    const running = (await request(stateDir, vm, { op: 'ping' })) !== 'not-running';
    const cpus = Array.from({ length: record.cpus }, (_, cpu) => cpu).join(', ');
    consoleLine(`active cpus:\t${running && cpus !== '' ? ` ${cpus}` : ' (none)'}`);
  }
  for (const message of simRequests(options)) {
    const reply = await request(stateDir, vm, message);
    if (reply === 'not-running') {
      diagnostic(`bhyvectl-sim: VM ${vm} has no running bhyve`);
      return 1;
    }
    if (reply === 'no-answer') throw noAnswer(vm);
    if (!reply.ok) {
      diagnostic(`bhyvectl-sim: VM ${vm}: ${reply.error}`);
      return errnoExit(reply.errno);
    }
    if (message.op === 'guest') consoleLine(`${vm}: ${GUEST_ACTION_EFFECTS[message.action]}`);
  }
  for (const [wanted, how] of [[options.forceReset, 'reset'], [options.forcePoweroff, 'poweroff']] as const) {
    if (!wanted) continue;
    record = readVmmRecord(vm, stateDir) ?? record;
    const status = await forceSuspend(stateDir, record, how);
    if (status !== null) return status;
  }
  if (options.destroy) {
    // Tell a running bhyve first (it then exits 1, as when vmm.ko pulls the instance away).
    await request(stateDir, vm, { op: 'destroy' });
    removeVmmRecord(vm, stateDir);
  }
  return 0;
}

/** What `--sim-guest=ACTION` makes happen, for the line printed once the guest was told. */
const GUEST_ACTION_EFFECTS: Record<RuntimeAction, string> = {
  reboot: 'the guest will reboot (bhyve exits 0)',
  poweroff: 'the guest will power off (bhyve exits 1)',
  halt: 'the guest will halt (bhyve exits 2)',
  triplefault: 'the guest will triple-fault (bhyve exits 3)',
  error: 'bhyve will fail (exit 4)',
  vm_run_error: 'bhyve will print "vm_run error" and exit 1',
  abort: 'bhyve will abort (SIGABRT)',
  'ignore-acpi': 'the guest will ignore the ACPI power button (SIGTERM)',
  hang: 'the guest will hang: it ignores the ACPI power button (SIGTERM)',
  'honour-acpi': 'the guest will shut down on the ACPI power button (SIGTERM)',
};

function simRequests(options: BhyvectlOptions): ControlRequest[] {
  const requests: ControlRequest[] = [];
  if (options.console !== null) requests.push({ op: 'console', text: options.console });
  if (options.guest !== null) requests.push({ op: 'guest', action: options.guest });
  return requests;
}
