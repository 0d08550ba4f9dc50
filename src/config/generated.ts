/**
 * `<configfile>.generated`: the bhyve config file with the UCL settings appended (DESIGN.md
 * section 4). bhyve keeps the last assignment of a key, so the UCL settings win.
 */
import fs from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import { com1Path, consoleSetting } from './console-mode.js';
import type { VmConfig } from './types.js';

export const GENERATED_SUFFIX = '.generated';

export function generatedConfigPath(vm: VmConfig): string {
  return `${vm.configfile}${GENERATED_SUFFIX}`;
}

/** The bhyve `key=value` lines for the settings this VM's config sets, `name=` last. */
export function generatedSettings(vm: VmConfig): string[] {
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
  add('lpc.bootrom', vm.bootrom);
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

/** What `<configfile>.generated` should hold for `vm`, and its mode: the bhyve file's permissions. */
async function generatedConfigFor(vm: VmConfig): Promise<{ target: string; bytes: Buffer; mode: number }> {
  const [source, { mode }] = await Promise.all([fs.readFile(vm.configfile), fs.stat(vm.configfile)]);
  return { target: generatedConfigPath(vm), bytes: generatedConfigText(vm, source), mode: mode & 0o777 };
}

/** Write `<configfile>.generated` atomically, with the bhyve file's permissions; returns its path. */
export function writeGeneratedConfig(vm: VmConfig): Promise<string> {
  return new GeneratedConfigWriter().write(vm);
}

/** What a GeneratedConfigWriter last wrote, and what the file looked like right after. */
interface Written {
  target: string;
  bytes: Buffer;
  mode: number;
  file: { ino: number; size: number; mtimeMs: number; mode: number };
}

/**
 * `<configfile>.generated` for each bhyve launch of a worker's VM, rewritten only when its bytes
 * or mode would change. A guest reboot relaunches with the same config: rewriting it meant a write,
 * two fsyncs and a directory scan on the reboot path, for the same bytes.
 */
export class GeneratedConfigWriter {
  private written: Written | null = null;

  /**
   * Makes `<configfile>.generated` hold what DESIGN.md section 4 says for `vm` (the bhyve file is
   * read again every time, so an edit to it counts at the next launch); returns its path.
   */
  async write(vm: VmConfig): Promise<string> {
    const { target, bytes, mode } = await generatedConfigFor(vm);
    if (await this.alreadyThere(target, bytes, mode)) return target;
    await writeFileAtomic(target, bytes, mode);
    const after = await fs.stat(target);
    this.written = { target, bytes, mode, file: { ino: after.ino, size: after.size, mtimeMs: after.mtimeMs, mode: after.mode } };
    return target;
  }

  /** True when we wrote these bytes with this mode to `target` and nobody touched it since. */
  private async alreadyThere(target: string, bytes: Buffer, mode: number): Promise<boolean> {
    const last = this.written;
    if (last === null || last.target !== target || last.mode !== mode || !last.bytes.equals(bytes)) return false;
    try {
      const now = await fs.stat(target);
      return now.ino === last.file.ino && now.size === last.file.size && now.mtimeMs === last.file.mtimeMs && now.mode === last.file.mode;
    } catch {
      return false;
    }
  }
}
