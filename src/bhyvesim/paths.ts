/**
 * Where the bhyve simulator lives and keeps its state.
 *
 * The state directory stands in for the kernel: `<dir>/vmm/<name>` is the simulated
 * `/dev/vmm/<name>` (a JSON VmmRecord), `<dir>/run/<name>.sock` is the control socket of the
 * running simulated bhyve, `<dir>/boots/<name>` counts boots for `sim.times`.
 *
 * bin/bhyvectl-sim, the POSIX sh front end of the simulated bhyvectl, mirrors simStateDir(),
 * vmmRecordPath() and controlSocketPath() (and the socket path limit of socketAddress()) for the
 * calls it answers without Node: change them together. test/bhyvesim/front-end.test.ts proves
 * that both give the same output, exit status and state directory for the same arguments.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimExit } from './failure.js';
import { EX_OSERR } from '../shared/sysexits.js';

/** dist/src/bhyvesim/paths.js → the repository root, where bin/ is. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Absolute path of the simulated bhyve executable (for `vmstated --bhyve`). */
export function simBhyvePath(): string {
  return path.join(repoRoot, 'bin', 'bhyve-sim.js');
}

/**
 * Absolute path of the simulated bhyvectl executable (for `vmstated --bhyvectl`): the sh front
 * end, which answers `--destroy` of an idle instance itself and runs the Node implementation
 * (simBhyvectlNodePath()) for everything else.
 */
export function simBhyvectlPath(): string {
  return path.join(repoRoot, 'bin', 'bhyvectl-sim');
}

/** The Node implementation of the simulated bhyvectl, behind the sh front end. */
export function simBhyvectlNodePath(): string {
  return path.join(repoRoot, 'bin', 'bhyvectl-sim.js');
}

/** The simulator's state directory: `$BHYVE_SIM_DIR`, else `<tmpdir>/bhyve-sim-<uid>`. */
export function simStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.BHYVE_SIM_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(fromEnv);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return path.join(os.tmpdir(), `bhyve-sim-${uid}`);
}

/** The simulated `/dev/vmm/<name>` record. */
export function vmmRecordPath(stateDir: string, name: string): string {
  return path.join(stateDir, 'vmm', name);
}

/** The control socket of the simulated bhyve running VM `name`. */
export function controlSocketPath(stateDir: string, name: string): string {
  return path.join(stateDir, 'run', `${name}.sock`);
}

/**
 * The form of a socket path to hand to bind/connect: Unix socket paths are limited to 104 bytes
 * on FreeBSD (108 on Linux), so use the path relative to the working directory when shorter.
 */
export function socketAddress(socketPath: string): string {
  const relative = path.relative(process.cwd(), socketPath);
  const address = relative !== '' && relative.length < socketPath.length ? relative : socketPath;
  // Longer paths are silently truncated by the kernel/libuv: refuse them instead.
  if (Buffer.byteLength(address) > MAX_SOCKET_PATH_BYTES) {
    throw new SimExit(EX_OSERR, `bhyve-sim: the control socket path ${socketPath} is too long for a Unix socket (${MAX_SOCKET_PATH_BYTES} bytes at most): use a shorter BHYVE_SIM_DIR`);
  }
  return address;
}

/** sizeof(sun_path) is 104 on FreeBSD (108 on Linux), the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;

/** Boot counter of a VM name; survives `--destroy`, so `sim.times` can span reboots. */
export function bootCounterPath(stateDir: string, name: string): string {
  return path.join(stateDir, 'boots', name);
}

/**
 * A stand-in boot ROM in the state dir, for configs run with the simulator (tests, the demo):
 * the simulated bhyve only checks that the ROM it is given exists, as bhyve opens it.
 */
export function simBootromPath(stateDir: string): string {
  return path.join(stateDir, 'BHYVE_UEFI.fd');
}

/** Creates the stand-in boot ROM (and the state dir) if missing; returns its path. */
export function ensureSimBootrom(stateDir: string): string {
  const rom = simBootromPath(stateDir);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  if (!fs.existsSync(rom)) fs.writeFileSync(rom, 'stand-in boot ROM for the bhyve simulator\n', { mode: 0o644 });
  return rom;
}
