/**
 * The simulated kernel VM instance, `/dev/vmm/<name>`: a JSON file that outlives the bhyve
 * process which created it, until `bhyvectl --vm=<name> --destroy`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replaceFileSync } from '../shared/replace-file.js';
import { simStateDir, vmmRecordPath } from './paths.js';

/** How a VM was suspended (vm_suspend): bhyve exits 0, 1, 2 or 3 for these. */
export type SuspendHow = 'reset' | 'poweroff' | 'halt' | 'triplefault';

export interface VmmRecord {
  name: string;
  /** pid of the bhyve process that last ran this instance (it may have exited). */
  pid: number | null;
  /** Guest memory, bytes (held until destroy, as vmm.ko does). */
  memoryBytes: number;
  cpus: number;
  /** When the instance was created (vm_create). */
  createdAt: string;
  /** When the last bhyve started on it. */
  bootedAt: string | null;
  /** bhyve launches on this instance since it was created. */
  launches: number;
  configFile: string | null;
  /** Set once the VM is suspended (force-reset/-poweroff or guest shutdown); cleared by a relaunch. */
  suspended: SuspendHow | null;
  /** How the last bhyve on this instance ended, when it ended in a way it could record. */
  exit: { code: number | null; signal: string | null; at: string } | null;
}

/** Reads a VM's record; null when the instance does not exist ("not created"). */
export function readVmmRecord(name: string, stateDir: string = simStateDir()): VmmRecord | null {
  let text: string;
  try {
    text = fs.readFileSync(vmmRecordPath(stateDir, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return JSON.parse(text) as VmmRecord;
}

/** Writes a record atomically (write a temporary file, then rename over). */
export function writeVmmRecord(record: VmmRecord, stateDir: string): void {
  const target = vmmRecordPath(stateDir, record.name);
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  replaceFileSync(target, `${JSON.stringify(record, null, 2)}\n`);
}

/** Removes a record; false when there was none. */
export function removeVmmRecord(name: string, stateDir: string): boolean {
  try {
    fs.unlinkSync(vmmRecordPath(stateDir, name));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Names of every existing instance (the simulated `ls /dev/vmm`). */
export function listVmmRecords(stateDir: string = simStateDir()): string[] {
  try {
    return fs.readdirSync(path.join(stateDir, 'vmm')).filter((entry) => !entry.endsWith('.tmp')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
