/**
 * `<configfile>.generated` for each bhyve launch of this worker's VM, rewritten only when its bytes
 * or mode would change. A guest reboot relaunches with the same config: rewriting it meant a write,
 * two fsyncs and a directory scan on the reboot path, for the same bytes.
 */
import fs from 'node:fs/promises';
import { writeFileAtomic } from '../src/config/atomic.js';
import { generatedConfigPath, generatedConfigText } from '../src/config/generated.js';
import type { VmConfig } from '../src/config/types.js';

/** What this worker last wrote, and what the file looked like right after. */
interface Written {
  target: string;
  bytes: Buffer;
  mode: number;
  file: { ino: number; size: number; mtimeMs: number; mode: number };
}

export class GeneratedConfigWriter {
  private written: Written | null = null;

  /**
   * Makes `<configfile>.generated` hold what DESIGN.md section 4 says for `vm` (the bhyve file is
   * read again every time, so an edit to it counts at the next launch); returns its path.
   */
  async write(vm: VmConfig): Promise<string> {
    const target = generatedConfigPath(vm);
    const [source, { mode }] = await Promise.all([fs.readFile(vm.configfile), fs.stat(vm.configfile)]);
    const bytes = generatedConfigText(vm, source);
    if (await this.alreadyThere(target, bytes, mode & 0o777)) return target;
    await writeFileAtomic(target, bytes, mode & 0o777);
    const after = await fs.stat(target);
    this.written = { target, bytes, mode: mode & 0o777, file: { ino: after.ino, size: after.size, mtimeMs: after.mtimeMs, mode: after.mode } };
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
