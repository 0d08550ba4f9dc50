/**
 * A VM's serial console, held by its worker for the VM's life: the B side of the VM's nmdm pair
 * (bhyve has the A side, src/config/console-mode.ts), read all the time whatever the viewers do,
 * so the guest never blocks on a full console. What the guest prints goes to the VM log (source
 * `console`, one timestamped line per line) and into a 64 KiB ring replayed to viewers who attach;
 * what viewers type goes to the guest. Every viewer's keystrokes reach the guest (a read-only
 * viewer sends none: the daemon drops its input).
 */
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { consoleDevice, consoleMode } from '../src/config/console-mode.js';
import { ByteRing } from './console-ring.js';
import { openConsoleDevice, type ConsoleChannel } from './console-device.js';
import type { VmLog } from './vm-log.js';

/** What the console sends to one viewer (workers/console-server.ts). */
export interface ConsoleViewer {
  send(bytes: Buffer): void;
  end(why: string): void;
}

const CARRIAGE_RETURN = 0x0d;

export class VmConsole {
  private device: ConsoleChannel | null = null;
  private deviceName: string | null = null;
  /** Why viewers cannot attach (com1 is not ours, the device cannot be opened); null when they can. */
  private refusal: string | null = null;
  private readonly ring = new ByteRing();
  private readonly viewers = new Set<ConsoleViewer>();
  /** The log's copy, carriage returns removed (a serial line ends lines with CR LF). */
  private readonly toLog = new PassThrough();

  constructor(
    private readonly vm: string,
    private readonly log: VmLog,
  ) {
    log.follow(this.toLog, 'console');
  }

  /**
   * Follows the com1 setting of the bhyve config bhyve runs (or will run) with: opens our side
   * before bhyve starts when vmstated owns the console, closes it when the config gave com1 to
   * something else. Called before each launch and when a worker adopts a running bhyve.
   */
  async sync(bhyveConfigFile: string): Promise<void> {
    let mode;
    try {
      // Sync: a small file of ours, and no libuv thread pool in a resident worker (src/config/atomic.ts).
      mode = consoleMode(this.vm, fs.readFileSync(bhyveConfigFile));
    } catch (error) {
      this.log.line('vmstated', `console: cannot read ${bhyveConfigFile}: ${(error as Error).message}`);
      return;
    }
    if (mode.kind !== 'owned') {
      this.closeDevice();
      this.refuse(mode.why);
      return;
    }
    if (this.device !== null && this.deviceName === mode.device) return;
    this.closeDevice();
    try {
      this.device = await openConsoleDevice(mode.device);
    } catch (error) {
      this.refuse(`the console device ${mode.device} cannot be opened: ${(error as Error).message}`);
      this.log.line('vmstated', `console: ${this.refusal}`);
      return;
    }
    this.deviceName = mode.device;
    this.refusal = null;
    this.device.onData((chunk) => this.output(chunk));
    this.log.line('vmstated', `console: vmstated holds ${mode.device}; bhyve's com1 is ${consoleDevice(this.vm, 'A')}`);
  }

  /** Why a viewer cannot attach now, or null when it can. */
  get unavailable(): string | null {
    return this.refusal;
  }

  /** Adds a viewer and replays the last `historyLines` lines (all the ring with undefined). */
  attach(viewer: ConsoleViewer, historyLines?: number): void {
    const history = this.ring.tail(historyLines);
    if (history.length > 0) viewer.send(history);
    this.viewers.add(viewer);
  }

  detach(viewer: ConsoleViewer): void {
    this.viewers.delete(viewer);
  }

  /** Keystrokes for the guest; dropped while no bhyve holds the other side, as on a serial line. */
  input(bytes: Buffer): void {
    this.device?.write(bytes);
  }

  /** The worker exits: viewers are told why, the device and the log's copy are closed. */
  close(why: string): void {
    this.refuse(why);
    this.closeDevice();
    this.toLog.end();
  }

  private output(chunk: Buffer): void {
    this.ring.push(chunk);
    this.toLog.write(chunk.includes(CARRIAGE_RETURN) ? Buffer.from(chunk.filter((byte) => byte !== CARRIAGE_RETURN)) : chunk);
    for (const viewer of this.viewers) viewer.send(chunk);
  }

  private refuse(why: string): void {
    this.refusal = why;
    for (const viewer of this.viewers) viewer.end(why);
    this.viewers.clear();
  }

  private closeDevice(): void {
    this.device?.close();
    this.device = null;
    this.deviceName = null;
  }
}
