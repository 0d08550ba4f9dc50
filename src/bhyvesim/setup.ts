/**
 * What ends the simulated bhyve while it sets the VM up, once the instance is created (or reused):
 * the boot ROM, and a device failure scripted with `sim.fail`. Real bhyve exits there too, with the
 * instance left behind:
 *   amd64, usr.sbin/bhyve/bhyverun.c do_open(): a just-created instance without `lpc.bootrom`:
 *     "virtual machine cannot be booted", exit 4 (a reused one was prepared by a loader: it runs);
 *   usr.sbin/bhyve/bootrom.c bootrom_loadrom(): a ROM that cannot be opened: "Error opening bootrom",
 *     the LPC device fails, then bhyverun.c: "Device emulation initialization error", exit 4;
 *   arm64, usr.sbin/bhyve/aarch64/bhyverun_machdep.c: no `bootrom`: "no bootrom specified", exit 4;
 *     a ROM that cannot be opened: err(1, "open(...)"), exit 1.
 * A device that cannot be set up (a disk that is not there: block_if.c "Could not open backing
 * file", then "Device emulation initialization error") exits 4: `sim.fail=TEXT` prints TEXT (`\n`
 * separates lines) on stderr and exits 4 there.
 */
import fs from 'node:fs';
import os from 'node:os';
import { bootromKey } from '../config/bootrom.js';
import { type BhyveConfig, describeErrno } from './configfile.js';
import { SimExit } from './failure.js';

/** Why `file` cannot be opened for reading, or null when it can. */
function openError(file: string): string | null {
  try {
    fs.closeSync(fs.openSync(file, 'r'));
    return null;
  } catch (error) {
    return describeErrno(error as NodeJS.ErrnoException);
  }
}

function bootromFailure(config: BhyveConfig, instanceExisted: boolean, arch: string): SimExit | null {
  const key = bootromKey(arch);
  if (key === null) return null;
  const rom = config.get(key);
  if (key === 'bootrom') {
    if (rom === undefined) return new SimExit(4, 'bhyve: no bootrom specified');
    const why = openError(rom);
    return why === null ? null : new SimExit(1, `bhyve: open(${rom}): ${why}`);
  }
  if (rom === undefined) return instanceExisted ? null : new SimExit(4, 'virtual machine cannot be booted');
  const why = openError(rom);
  return why === null ? null : new SimExit(4, `Error opening bootrom "${rom}": ${why}\nDevice emulation initialization error: ${why}`);
}

/** The exit that ends this launch during the set-up, or null when the guest boots. */
export function setupFailure(config: BhyveConfig, instanceExisted: boolean, arch: string = os.arch()): SimExit | null {
  const rom = bootromFailure(config, instanceExisted, arch);
  if (rom !== null) return rom;
  const fail = config.get('sim.fail');
  return fail === undefined ? null : new SimExit(4, fail.split('\\n').join('\n'));
}
