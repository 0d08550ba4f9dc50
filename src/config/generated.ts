/**
 * `<configfile>.generated`: the bhyve config file with the UCL settings appended (DESIGN.md
 * section 4). bhyve keeps the last assignment of a key, so the UCL settings win.
 */
import fs from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
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

/** The bhyve file's bytes, a newline, then the settings, one line each. */
export function generatedConfigText(vm: VmConfig, bhyveFileBytes: Buffer): Buffer {
  const settings = generatedSettings(vm).map((line) => `${line}\n`).join('');
  return Buffer.concat([bhyveFileBytes, Buffer.from(`\n${settings}`, 'utf8')]);
}

/** Write `<configfile>.generated` atomically, with the bhyve file's permissions; returns its path. */
export async function writeGeneratedConfig(vm: VmConfig): Promise<string> {
  const target = generatedConfigPath(vm);
  const bytes = await fs.readFile(vm.configfile);
  const { mode } = await fs.stat(vm.configfile);
  await writeFileAtomic(target, generatedConfigText(vm, bytes), mode & 0o777);
  return target;
}
