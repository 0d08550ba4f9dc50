/**
 * The simulated bhyve(8): `bhyve -k <file> <name>`. It keeps a simulated `/dev/vmm/<name>`,
 * prints a guest console on stdout and diagnostics on stderr, answers SIGTERM as the ACPI power
 * button, and exits with bhyve's statuses (0 reset, 1 poweroff, 2 halt, 3 triple fault, 4 error).
 */
import fs from 'node:fs';
import path from 'node:path';
import type net from 'node:net';
import { missingName, parseBhyveArguments } from './arguments.js';
import { type BhyveConfig, configBool, defaultConfig, guestCpus, memoryBytes } from './configfile.js';
import { bindControl, type ControlReply, type ControlRequest, EALREADY } from './control.js';
import { SimExit } from './failure.js';
import { EX_OSERR } from '../shared/sysexits.js';
import { type GuestAction, type GuestEnd, type GuestScript, guestEnd, guestScript, type RuntimeAction, SUSPEND_EXIT } from './guest.js';
import { SimulatedGetty } from './getty.js';
import { openSimulatedCom1 } from './nmdm.js';
import { afterOutputDrains, consoleBytes, consoleFlood, consoleLine, diagnostic, exitAfterOutput, useConsoleDevice } from './output.js';
import { bootCounterPath, controlSocketPath, simStateDir } from './paths.js';
import { readVmmRecord, removeVmmRecord, type VmmRecord, writeVmmRecord } from './record.js';
import { bhyveTitle } from '../shared/process-table.js';

/** VM_MAX_NAMELEN is 32 in vmm.ko, the terminating NUL included. */
const MAX_NAME_LENGTH = 31;

const END_TEXT: Record<string, string> = {
  reset: 'reset (exit 0)',
  poweroff: 'powered off (exit 1)',
  halt: 'halted (exit 2)',
  triplefault: 'triple fault (exit 3)',
  error: 'error (exit 4)',
  abort: 'emulation abort (SIGABRT)',
};

interface VmSetup {
  name: string;
  config: BhyveConfig;
  configFile: string | null;
  cpus: number;
  memoryBytes: number;
  script: GuestScript;
  stateDir: string;
}

class SimulatedVm {
  private server: net.Server | null = null;
  private ending = false;
  private settled = false;
  private destroyed = false;
  private acpiIgnored: boolean;
  private shuttingDown = false;
  private actionTimer: NodeJS.Timeout | null = null;
  private readonly socketPath: string;

  constructor(private readonly setup: VmSetup) {
    this.acpiIgnored = setup.script.acpi === 'ignore';
    this.socketPath = controlSocketPath(setup.stateDir, setup.name);
  }

  /** vm_create/vm_open: claims the instance, refusing a name that a live bhyve runs. */
  async open(): Promise<void> {
    const { name, stateDir } = this.setup;
    const server = await bindControl(
      this.socketPath,
      (request) => this.handle(request),
      (request) => this.afterReply(request),
    );
    if (server === 'busy') {
      // A second bhyve on a running VM: with a bootrom vm_reinit() fails with EBUSY (exit 4);
      // without one bhyve opens the instance and fails to activate vCPU 0 (EX_OSERR).
      if (this.setup.config.has('lpc.bootrom')) throw new SimExit(4, 'vm_reinit: Device busy');
      throw new SimExit(EX_OSERR, 'bhyve: could not activate CPU 0: Device busy');
    }
    this.server = server;
    const existing = readVmmRecord(name, stateDir);
    const now = new Date().toISOString();
    const record: VmmRecord = {
      name,
      pid: process.pid,
      memoryBytes: this.setup.memoryBytes,
      cpus: this.setup.cpus,
      createdAt: existing?.createdAt ?? now,
      bootedAt: now,
      launches: (existing?.launches ?? 0) + 1,
      configFile: this.setup.configFile,
      suspended: null,
      exit: null,
    };
    writeVmmRecord(record, stateDir);
    const verb = existing === null ? 'created' : 'reuses';
    diagnostic(`bhyve-sim: ${name}: pid ${process.pid} ${verb} /dev/vmm/${name} (state ${stateDir})`);
  }

  /** Boots the guest: console lines, then the scripted action and the ACPI power button. */
  start(getty: SimulatedGetty | null): void {
    const { name, script } = this.setup;
    const boot = nextBootNumber(this.setup.stateDir, name);
    const mib = Math.round(this.setup.memoryBytes / (1024 * 1024));
    consoleLine(`Booting ${name} (simulated guest: ${this.setup.cpus} vCPUs, ${mib} MiB, boot ${boot})`);
    for (const line of script.consoleLines) consoleLine(line);
    for (const line of script.stderrLines) diagnostic(line);
    for (let line = 1; line <= script.flood; line++) consoleLine(`${name}: console flood line ${line} of ${script.flood}`);
    if (script.floodBytes > 0) consoleFlood(script.floodBytes);
    if (script.acpiReadyMs === 0) this.enableAcpi();
    else setTimeout(() => this.enableAcpi(), script.acpiReadyMs);
    const action: GuestAction = script.times === null || boot <= script.times ? script.action : 'run';
    if (guestEnd(action) !== null) {
      this.actionTimer = setTimeout(() => this.guestEnds(action), script.afterMs);
      consoleLine(`${name}: guest running; it will ${action} in ${script.afterMs} ms`);
    } else {
      consoleLine(`${name}: guest running`);
    }
    getty?.prompt();
  }

  /** com1 on an nmdm device: the console goes there, with a login prompt that echoes. */
  async openCom1(): Promise<SimulatedGetty | null> {
    const com1 = await openSimulatedCom1(this.setup.config.get('lpc.com1.path'), this.setup.stateDir);
    if (com1 === null) return null;
    useConsoleDevice(com1);
    const getty = new SimulatedGetty(this.setup.name, consoleBytes);
    com1.onData((chunk) => getty.input(chunk));
    return getty;
  }

  /** The guest enabled ACPI: from now on SIGTERM presses the power button. */
  private enableAcpi(): void {
    process.on('SIGTERM', () => this.powerButton());
    consoleLine(`${this.setup.name}: ACPI enabled`);
  }

  private powerButton(): void {
    const { name, script } = this.setup;
    if (this.ending || this.shuttingDown) return;
    if (this.acpiIgnored) {
      diagnostic(`bhyve-sim: ${name}: ACPI power button pressed; the guest ignores it`);
      return;
    }
    this.shuttingDown = true;
    consoleLine(`${name}: power button pressed; shutting down in ${script.acpiDelayMs} ms`);
    setTimeout(() => {
      if (!this.claimEnd()) return;
      consoleLine(`${name}: acpi0: Powering system off`);
      this.finish({ kind: 'suspend', how: 'poweroff' });
    }, script.acpiDelayMs);
  }

  /** Only one way out: false when another one already started. */
  private claimEnd(): boolean {
    if (this.ending) return false;
    this.ending = true;
    if (this.actionTimer !== null) clearTimeout(this.actionTimer);
    return true;
  }

  /** A scripted or requested guest action that ends bhyve. */
  private guestEnds(action: GuestAction | RuntimeAction, claimed = false): void {
    const end = guestEnd(action);
    if (end === null || (!claimed && !this.claimEnd())) return;
    const name = this.setup.name;
    switch (action) {
      case 'reboot': consoleLine(`${name}: Rebooting...`); break;
      case 'poweroff': consoleLine(`${name}: acpi0: Powering system off`); break;
      case 'halt': consoleLine(`${name}: The operating system has halted.`); break;
      case 'triplefault': diagnostic(`bhyve-sim: ${name}: guest triple fault`); break;
      case 'error': diagnostic(`vm_loop: unexpected exitcode 0x1f (simulated error in ${name})`); break;
      case 'abort': diagnostic(`Assertion failed: (error == 0), function vm_loop (simulated abort in ${name})`); break;
    }
    this.finish(end);
  }

  private handle(request: ControlRequest): ControlReply {
    const ok: ControlReply = { ok: true, pid: process.pid };
    switch (request.op) {
      case 'ping':
        return ok;
      case 'suspend':
        if (!this.claimEnd()) return { ok: false, errno: EALREADY, error: 'Operation already in progress' };
        // Record the suspension before replying, so a --destroy that follows cannot be undone.
        this.settle({ kind: 'suspend', how: request.how });
        return ok;
      case 'destroy':
        this.destroyed = true;
        this.ending = true;
        if (this.actionTimer !== null) clearTimeout(this.actionTimer);
        return ok;
      case 'console':
        consoleLine(request.text);
        return ok;
      case 'guest':
        if (request.action === 'ignore-acpi' || request.action === 'hang' || request.action === 'honour-acpi') {
          this.acpiIgnored = request.action !== 'honour-acpi';
          diagnostic(`bhyve-sim: ${this.setup.name}: the guest now ${this.acpiIgnored ? 'ignores' : 'honours'} the ACPI power button`);
          return ok;
        }
        if (guestEnd(request.action) === null) return { ok: false, errno: 22, error: `unknown guest action ${String(request.action)}` };
        if (!this.claimEnd()) return { ok: false, errno: EALREADY, error: 'Operation already in progress' };
        return ok;
      default:
        return { ok: false, errno: 22, error: 'unknown request' };
    }
  }

  private afterReply(request: ControlRequest): void {
    if (request.op === 'suspend') this.finish({ kind: 'suspend', how: request.how });
    else if (request.op === 'guest' && guestEnd(request.action) !== null) this.guestEnds(request.action, true);
    else if (request.op === 'destroy') {
      // vmm.ko pulls the instance away under the vCPU threads; vm_loop() returns, bhyve exits 1.
      diagnostic('vm_run error -1, errno 6');
      this.exitWith(1, 'instance destroyed under it (exit 1)');
    }
  }

  /** Writes how bhyve ended into the record (unless the instance was destroyed meanwhile). */
  private settle(end: GuestEnd): void {
    if (this.settled || this.destroyed) return;
    this.settled = true;
    const { name, stateDir } = this.setup;
    const record = readVmmRecord(name, stateDir);
    if (record === null || record.pid !== process.pid) return;
    const at = new Date().toISOString();
    if (end.kind === 'suspend') {
      if (end.how === 'poweroff' && configBool(this.setup.config, 'destroy_on_poweroff', false)) {
        removeVmmRecord(name, stateDir);
        return;
      }
      record.suspended = end.how;
      record.exit = { code: SUSPEND_EXIT[end.how], signal: null, at };
    } else {
      record.exit = end.kind === 'error' ? { code: 4, signal: null, at } : { code: null, signal: 'SIGABRT', at };
    }
    writeVmmRecord(record, stateDir);
  }

  private finish(end: GuestEnd): void {
    this.settle(end);
    if (end.kind === 'suspend') this.exitWith(SUSPEND_EXIT[end.how], END_TEXT[end.how]);
    else if (end.kind === 'error') this.exitWith(4, END_TEXT.error);
    else {
      this.releaseSocket();
      diagnostic(`bhyve-sim: ${this.setup.name}: ${END_TEXT.abort}`);
      afterOutputDrains(() => {
        process.kill(process.pid, 'SIGABRT');
        setTimeout(() => process.abort(), 1000);
      });
    }
  }

  private releaseSocket(): void {
    this.server?.close();
    try {
      fs.unlinkSync(this.socketPath);
    } catch {
      // Already gone.
    }
  }

  private exitWith(code: number, meaning: string): void {
    this.releaseSocket();
    diagnostic(`bhyve-sim: ${this.setup.name}: ${meaning}`);
    exitAfterOutput(code);
  }
}

/** Boots of this VM name so far, this one included (kept across --destroy for sim.times). */
function nextBootNumber(stateDir: string, name: string): number {
  const file = bootCounterPath(stateDir, name);
  let previous = 0;
  try {
    previous = Number.parseInt(fs.readFileSync(file, 'utf8'), 10) || 0;
  } catch {
    // First boot of this name.
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${previous + 1}\n`);
  return previous + 1;
}

/** vm_create() refuses names vmm.ko cannot make a device node of. */
function checkVmName(name: string): void {
  if (name.length > MAX_NAME_LENGTH || name.includes('/') || name === '.' || name === '..') {
    throw new SimExit(4, 'vm_create: Invalid argument');
  }
}

function prepare(argv: string[], env: NodeJS.ProcessEnv): VmSetup {
  const config = defaultConfig();
  const { operands, configFiles } = parseBhyveArguments(argv, config);
  if (operands.length > 1) throw missingName();
  if (operands.length === 1) config.set('name', operands[0]);
  const name = config.get('name');
  if (name === undefined) throw missingName();
  if (configBool(config, 'config.dump', false)) {
    const dump = [...config].sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => `${key}=${value}`);
    throw new SimExit(1, '', dump.join('\n'));
  }
  const setup: VmSetup = {
    name,
    config,
    configFile: configFiles.length > 0 ? path.resolve(configFiles[configFiles.length - 1]) : null,
    cpus: guestCpus(config),
    memoryBytes: memoryBytes(config),
    script: guestScript(config),
    stateDir: simStateDir(env),
  };
  checkVmName(name);
  return setup;
}

/** Runs the simulated bhyve; returns once the guest runs (the process lives on its handles). */
export async function runBhyve(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const setup = prepare(argv, env);
    const vm = new SimulatedVm(setup);
    await vm.open();
    // As bhyverun.c does once its devices are set up: ps(1) then shows `bhyve: <name>`.
    process.title = bhyveTitle(setup.name);
    vm.start(await vm.openCom1());
  } catch (error) {
    if (!(error instanceof SimExit)) throw error;
    if (error.stdout !== '') consoleLine(error.stdout);
    if (error.message !== '') (error.exitCode === 0 ? consoleLine : diagnostic)(error.message);
    exitAfterOutput(error.exitCode);
  }
}
