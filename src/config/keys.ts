/** The keys a VM config may set (DESIGN.md section 4) and how each one is read. */

/** bhyve's VM_MAX_NAMELEN is 32 with the NUL; the name also names log, socket and vmm files. */
export const MAX_VM_NAME_LENGTH = 31;
export const VM_NAME = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${MAX_VM_NAME_LENGTH - 1}}$`);

export type KeyKind =
  | 'text' // free text; a plain number is taken as written
  | 'path' // relative to the VM's directory
  | 'bool'
  | 'count' // integer >= 0
  | 'order' // any integer
  | 'vcpus' // integer 1..65535, bhyve's range for cpus/sockets/cores/threads
  | 'duration' // seconds >= 0
  | 'timeout' // seconds > 0
  | 'memory';

export const VM_KEYS = {
  name: 'text',
  configfile: 'path',
  scriptpath: 'path',
  os: 'text',
  osversion: 'text',
  owner: 'text',
  group: 'text',
  description: 'text',
  maxrestart: 'count',
  maxrestarttime: 'timeout',
  bootrom: 'path',
  generate_acpi_tables: 'bool',
  vmexit_on_halt: 'bool',
  memory: 'memory',
  cpus: 'vcpus',
  numcpus: 'vcpus',
  sockets: 'vcpus',
  cores: 'vcpus',
  threads: 'vcpus',
  autostart: 'bool',
  startorder: 'order',
  startdelay: 'duration',
  stoptimeout: 'duration',
  hooktimeout: 'timeout',
  settletime: 'duration',
} as const satisfies Record<string, KeyKind>;

export type VmKey = keyof typeof VM_KEYS;

export function isVmKey(key: string): key is VmKey {
  return Object.hasOwn(VM_KEYS, key);
}

export const DEFAULTS = {
  maxrestart: 3,
  maxrestarttime: 30,
  autostart: false,
  startorder: 0,
  startdelay: 0,
  stoptimeout: 60,
  hooktimeout: 120,
  settletime: 1,
} as const;

/** The known key closest to a misspelt one (case or up to two edits away), if any. */
export function closestKey(key: string): VmKey | undefined {
  let best: VmKey | undefined;
  let bestDistance = 3;
  for (const known of Object.keys(VM_KEYS) as VmKey[]) {
    const distance = known === key.toLowerCase() ? 0 : editDistance(key.toLowerCase(), known);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
