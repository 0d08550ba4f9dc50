/** Where the project's executables are, from the compiled test's location (dist/test/helpers). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const VMSTATED_BIN = path.join(PROJECT_ROOT, 'bin/vmstated.js');
export const VMSTATEDCTL_BIN = path.join(PROJECT_ROOT, 'bin/vmstatedctl.cjs');
export const BHYVE_SIM_BIN = path.join(PROJECT_ROOT, 'bin/bhyve-sim.js');
export const BHYVECTL_SIM_BIN = path.join(PROJECT_ROOT, 'bin/bhyvectl-sim.js');
