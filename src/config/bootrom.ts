/**
 * The boot ROM rule: bhyve boots a guest only from a boot ROM (firmware); a VM without one, or
 * with one that does not exist, cannot start, so its config is an error rather than a launch that
 * fails every time.
 *
 * amd64 (usr.sbin/bhyve/bhyverun.c, do_open()): when bhyve has just created the VM instance and
 * `lpc.bootrom` is not set, it prints "virtual machine cannot be booted" and exits 4 (vmstated
 * destroys the instance before every cold start, so it is always just created; an instance that a
 * loader such as bhyveload prepared is the only other way, and vmstated does not run loaders). A
 * ROM file that cannot be opened (usr.sbin/bhyve/bootrom.c, bootrom_loadrom(): "Error opening
 * bootrom") fails the LPC device and bhyve exits 4.
 *
 * arm64 (usr.sbin/bhyve/aarch64/bhyverun_machdep.c, bhyve_init_platform()): the variable is
 * `bootrom` (U-Boot); without it bhyve says "no bootrom specified" and exits 4; a file that cannot
 * be opened is `err(1, "open(...)")`, exit 1. Other architectures: no rule.
 */
import os from 'node:os';
import path from 'node:path';
import { checkTrustedPath } from '../shared/trusted-path.js';
import { KIND, type Position } from './problems.js';
import { untrustedKind } from './trust.js';

export type BootromKey = 'lpc.bootrom' | 'bootrom';

/** The bhyve config variable that names the boot ROM on `arch` (os.arch()), or null where there is no rule. */
export function bootromKey(arch: string = os.arch()): BootromKey | null {
  if (arch === 'x64') return 'lpc.bootrom';
  if (arch === 'arm64') return 'bootrom';
  return null;
}

/** What to install and where the firmware then is, per architecture. */
const FIRMWARE: Record<BootromKey, { pkg: string; file: string; missing: string; exit: number }> = {
  'lpc.bootrom': { pkg: 'edk2-bhyve', file: '/usr/local/share/uefi-firmware/BHYVE_UEFI.fd', missing: 'virtual machine cannot be booted', exit: 4 },
  bootrom: { pkg: 'u-boot-bhyve-arm64', file: '/usr/local/share/u-boot/u-boot-bhyve-arm64/u-boot.bin', missing: 'no bootrom specified', exit: 4 },
};

/** Where a VM names its boot ROM, if it does. */
export interface BootromSource {
  /** The `bootrom` key of the VM's config (absolute already), with its position. */
  fromConfig?: { path: string; at: Position };
  /** The bhyve config file's last assignment of the boot ROM variable, with its line. */
  fromBhyveFile?: { value: string; at: Position };
}

/**
 * The problem with a VM's boot ROM on `arch`, or null when there is none. The ROM is handed to
 * bhyve, so it must pass the trust rule too (src/shared/trusted-path.ts): whoever can write it
 * runs their code as the guest's firmware.
 */
export function bootromProblem(
  source: BootromSource,
  names: { vm: string; bhyveFile: string },
  arch: string = os.arch(),
): { at: Position | null; message: string; kind: string } | null {
  const key = bootromKey(arch);
  if (key === null) return null;
  const firmware = FIRMWARE[key];
  const fix = `install the firmware (pkg install ${firmware.pkg}) and set  bootrom = ${firmware.file};  in the VM's config ` +
    `(or ${key}=${firmware.file} in ${names.bhyveFile}); loaders such as bhyveload are not supported`;
  const named = source.fromConfig ?? source.fromBhyveFile;
  if (named === undefined) {
    return { at: null, message: `VM ${names.vm} has no boot ROM: bhyve would exit ${firmware.exit} ("${firmware.missing}"); ${fix}`, kind: KIND.bootrom };
  }
  const rom = 'path' in named ? named.path : named.value;
  if (!path.isAbsolute(rom)) {
    return { at: named.at, message: `${key}=${rom} is a relative path: bhyve would open it from its own working directory; write the absolute path`, kind: KIND.bootrom };
  }
  const verdict = checkTrustedPath(rom);
  const exit = key === 'bootrom' ? 1 : 4;
  // The ROM is named already: what is missing is the file, or the right name for it.
  const where = source.fromConfig !== undefined ? "bootrom in the VM's config" : `${key} in ${names.bhyveFile}`;
  const fixNamed = rom === firmware.file
    ? `install the firmware: pkg install ${firmware.pkg}`
    : `install the firmware (pkg install ${firmware.pkg}) and name ${firmware.file} in ${where}, or name a ROM that exists`;
  if (verdict.trusted) {
    if (verdict.stat.isFile()) return null;
    return { at: named.at, message: `boot ROM ${rom} is not a regular file: bhyve would exit ${exit} at every start; ${fixNamed}`, kind: KIND.bootrom };
  }
  if (verdict.missing) {
    return { at: named.at, message: `boot ROM ${rom} does not exist: bhyve would exit ${exit} at every start; ${fixNamed}`, kind: KIND.bootrom };
  }
  return { at: named.at, message: `boot ROM ${rom} is not trusted: ${verdict.reason}`, kind: untrustedKind(verdict.why) };
}
