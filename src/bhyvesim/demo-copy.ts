/**
 * The demo's copy of examples/. vmstated writes `<configfile>.generated` beside each VM's bhyve
 * config, so a daemon run on examples/ itself would write into the checkout: `npm run demo` runs it
 * on a copy under ./run instead. The copy names a stand-in boot ROM (the examples name FreeBSD's
 * real firmware, /usr/local/share/uefi-firmware/BHYVE_UEFI.fd, which is what an admin copies), and
 * has the modes a root-run vmstated wants of its configs (src/config: files 0644, hooks and
 * directories 0755, nothing writable by group or others).
 */
import fs from 'node:fs';
import path from 'node:path';
import { bootromKey } from '../config/bootrom.js';

const BOOTROM_LINE = /^(lpc\.)?bootrom=.*$/gm;

/** Copies each VM directory of `source` (one with a `config`) to `target`, afresh; returns the directory names. */
export function copyExamples(source: string, target: string, bootrom: string): string[] {
  fs.rmSync(target, { recursive: true, force: true });
  makeDir(target);
  const vms = fs.readdirSync(source).filter((name) => fs.existsSync(path.join(source, name, 'config'))).sort();
  for (const vm of vms) {
    makeDir(path.join(target, vm));
    for (const file of fs.readdirSync(path.join(source, vm))) copyFile(path.join(source, vm, file), path.join(target, vm, file), bootrom);
  }
  return vms;
}

function makeDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
}

function copyFile(from: string, to: string, bootrom: string): void {
  const stat = fs.statSync(from);
  if (!stat.isFile() || from.endsWith('.generated')) return;
  let bytes = fs.readFileSync(from);
  if (path.basename(from) === 'bhyve_config') {
    bytes = Buffer.from(bytes.toString('utf8').replace(BOOTROM_LINE, `${bootromKey() ?? 'lpc.bootrom'}=${bootrom}`));
  }
  fs.writeFileSync(to, bytes);
  fs.chmodSync(to, (stat.mode & 0o111) !== 0 ? 0o755 : 0o644);
}
