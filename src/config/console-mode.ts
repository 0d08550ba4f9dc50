/**
 * Who owns a VM's serial console (com1), from the bhyve config it runs with.
 *
 * `lpc.com1.path=stdio` (the man page's recipe, `-l com1,stdio`) would put the guest console on
 * bhyve's stdin and stdout, which vmstated does not give a terminal: uart_emul.c hands com1's path
 * to uart_tty_open() (usr.sbin/bhyve/uart_backend.c), whose stdio backend sets stdin non-blocking
 * and registers it with mevent (kqueue, usr.sbin/bhyve/mevent.c); /dev/null has no kqfilter
 * (sys/dev/null/null.c: ENODEV), and a pipe nobody writes to is no console. vmstated owns such a console
 * instead: the generated config points com1 at the A side of an nmdm(4) pair named after the VM,
 * the VM's worker holds the B side for the VM's life (workers/console.ts). Any other com1 path
 * (an nmdm device of the admin's, `tcp=...`, a real tty) is left alone and is the admin's.
 *
 * Device names follow nmdm's clone rule (sys/dev/nmdm/nmdm.c, nmdm_clone()): "nmdm", at least
 * two more characters, and 'A' or 'B' last; opening either name creates the pair. VM names are
 * [A-Za-z0-9._-]{1,31}, so `/dev/nmdm-vmstated-<vm>A` is unique per VM, fits devfs names, and is
 * told apart from vm-bhyve's `nmdm-<vm>.<n>A` and an admin's `nmdm0A`.
 */

import { bhyveConfigValues } from './bhyve-file.js';

const DEVICE_PREFIX = '/dev/nmdm-vmstated-';
const COM1_KEY = 'lpc.com1.path';

/** The nmdm device of `vm`'s console: bhyve opens side A, the worker side B. */
export function consoleDevice(vm: string, side: 'A' | 'B'): string {
  return `${DEVICE_PREFIX}${vm}${side}`;
}

/** The bhyve config line that gives bhyve the A side. */
export function consoleSetting(vm: string): string {
  return `${COM1_KEY}=${consoleDevice(vm, 'A')}`;
}

export type ConsoleMode =
  /** vmstated owns the console: the worker holds `device` (side B). */
  | { kind: 'owned'; device: string }
  /** com1 is set to something of the admin's: `why` says what and how to reach it. */
  | { kind: 'foreign'; path: string; why: string }
  /** The VM has no com1. */
  | { kind: 'none'; why: string };

/** The last `lpc.com1.path` of a bhyve config file (read as bhyve reads `-k` files: bhyve-file.ts). Null when unset. */
export function com1Path(bhyveConfig: Buffer | string): string | null {
  const text = typeof bhyveConfig === 'string' ? bhyveConfig : bhyveConfig.toString('utf8');
  return bhyveConfigValues(text).get(COM1_KEY) ?? null;
}

/** Whether vmstated should own this com1 setting (a bhyve file that says stdio, or a generated file it rewrote). */
export function isOwnedCom1(vm: string, path: string | null): boolean {
  return path === 'stdio' || path === consoleDevice(vm, 'A');
}

/** The console mode of `vm` running with the given bhyve config (the bhyve file or its generated file). */
export function consoleMode(vm: string, bhyveConfig: Buffer | string): ConsoleMode {
  const path = com1Path(bhyveConfig);
  if (isOwnedCom1(vm, path)) return { kind: 'owned', device: consoleDevice(vm, 'B') };
  if (path === null || path === '') {
    return { kind: 'none', why: `${vm} has no com1 in its bhyve config: add ${COM1_KEY}=stdio to it and vmstated keeps its console` };
  }
  return { kind: 'foreign', path, why: `${vm}'s com1 is ${path} in its bhyve config, not stdio: ${howToReach(path)}` };
}

function howToReach(path: string): string {
  const nmdm = /^(\/dev\/nmdm.+)([AB])$/.exec(path);
  if (nmdm !== null) return `use cu -l ${nmdm[1]}${nmdm[2] === 'A' ? 'B' : 'A'} (as root)`;
  if (path.startsWith('tcp')) return `connect to ${path.replace(/^tcp=/, '')} with telnet or nc`;
  return 'reach it on that device';
}
