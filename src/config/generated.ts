/**
 * `<configfile>.generated`: the bhyve config file with the UCL settings appended (DESIGN.md
 * section 4). bhyve keeps the last assignment of a key, so the UCL settings win.
 */
import fs from 'node:fs';
import path from 'node:path';
import { trustedDirectory } from '../shared/pinned-directory.js';
import { readTrustedFileSync } from '../shared/safe-read.js';
import { writeFileInTrustedDirectory } from './atomic.js';
import { bootromKey } from './bootrom.js';
import { com1Path, consoleSetting } from './console-mode.js';
import type { VmConfig } from './types.js';

export const GENERATED_SUFFIX = '.generated';

export function generatedConfigPath(vm: VmConfig): string {
  return `${vm.configfile}${GENERATED_SUFFIX}`;
}

/**
 * The bhyve `key=value` lines for the settings this VM's config sets, `name=` last. `bootrom` is
 * written as the variable bhyve reads on this host's architecture (src/config/bootrom.ts).
 */
export function generatedSettings(vm: VmConfig, arch?: string): string[] {
  const lines: string[] = [];
  const add = (key: string, value: string | number | boolean | undefined): void => {
    if (value !== undefined) lines.push(`${key}=${value}`);
  };
  add('memory.size', vm.memoryMiB === undefined ? undefined : `${vm.memoryMiB}M`);
  add('cpus', vm.cpus);
  add('sockets', vm.sockets);
  add('cores', vm.cores);
  add('threads', vm.threads);
  add('acpi_tables', vm.generateAcpiTables);
  add('x86.vmexit_on_hlt', vm.vmexitOnHalt);
  add(bootromKey(arch) ?? 'lpc.bootrom', vm.bootrom);
  add('name', vm.name);
  return lines;
}

/**
 * The bhyve file's bytes, a newline, then the settings, one line each; a com1 on `stdio` is pointed
 * at the VM's nmdm console just before `name=` (src/config/console-mode.ts).
 */
export function generatedConfigText(vm: VmConfig, bhyveFileBytes: Buffer): Buffer {
  const lines = generatedSettings(vm);
  if (com1Path(bhyveFileBytes) === 'stdio') lines.splice(lines.length - 1, 0, consoleSetting(vm.name));
  const settings = lines.map((line) => `${line}\n`).join('');
  return Buffer.concat([bhyveFileBytes, Buffer.from(`\n${settings}`, 'utf8')]);
}

/** What `<configfile>.generated` should hold for `vm`: the bhyve file is read only if it passes the trust rule. */
function generatedConfigFor(vm: VmConfig): { target: string; bytes: Buffer } {
  const source = readTrustedFileSync(vm.configfile);
  return { target: generatedConfigPath(vm), bytes: generatedConfigText(vm, source) };
}

/** Write `<configfile>.generated` atomically, mode 0600, in its trusted directory; returns its path. */
export function writeGeneratedConfig(vm: VmConfig): Promise<string> {
  return new GeneratedConfigWriter().write(vm);
}

/** What a GeneratedConfigWriter last wrote, and what the file looked like right after. */
interface Written {
  target: string;
  bytes: Buffer;
  file: { ino: number; size: number; mtimeMs: number; mode: number };
}

/**
 * `<configfile>.generated` for each bhyve launch of a worker's VM, rewritten only when its bytes
 * would change. A guest reboot relaunches with the same config: rewriting it meant a write,
 * two fsyncs and a directory scan on the reboot path, for the same bytes.
 *
 * Every launch checks again what the config load checked (files change after a load): the bhyve
 * file and the directory it is written into must pass the trust rule at that moment, or the launch
 * fails saying why. The file is root's (the daemon's uid), mode 0600, whatever the bhyve file's.
 */
export class GeneratedConfigWriter {
  private written: Written | null = null;

  /**
   * Makes `<configfile>.generated` hold what DESIGN.md section 4 says for `vm` (the bhyve file is
   * read again every time, so an edit to it counts at the next launch); returns its path.
   */
  async write(vm: VmConfig): Promise<string> {
    const { target, bytes } = generatedConfigFor(vm);
    if (this.alreadyThere(target, bytes)) return target;
    await writeFileInTrustedDirectory(target, bytes);
    const after = fs.lstatSync(target);
    this.written = { target, bytes, file: { ino: after.ino, size: after.size, mtimeMs: after.mtimeMs, mode: after.mode } };
    return target;
  }

  /**
   * True when we wrote these bytes to `target` and nobody touched it since, and its directory
   * still passes the trust rule.
   */
  private alreadyThere(target: string, bytes: Buffer): boolean {
    const last = this.written;
    if (last === null || last.target !== target || !last.bytes.equals(bytes)) return false;
    trustedDirectory(path.dirname(target)); // throws, saying why, when it no longer passes
    const now = fs.lstatSync(target, { throwIfNoEntry: false });
    return now !== undefined && now.ino === last.file.ino && now.size === last.file.size && now.mtimeMs === last.file.mtimeMs && now.mode === last.file.mode;
  }
}
