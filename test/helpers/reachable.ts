/**
 * What tests run as another user, copied where every user can reach it. The checkout may live
 * below a directory other users cannot enter (/root, a `mktemp -d` folder, mode 0700); code run
 * with setpriv as nobody or a test user must not depend on it. The copy holds vmstatedctl (its
 * bundle, code cache and manifest, as npm installs them), the protocol client module and the
 * security tests' hostile and stream clients; node
 * itself is /usr/bin/node or wherever process.execPath is, which every user reaches.
 *
 *   const { vmstatedctl, clientModule } = reachableCopy();
 *   spawnSync('setpriv', [..., '--', process.execPath, vmstatedctl, 'status']);
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from './paths.js';

export interface ReachableCopy {
  /** The copy's root (mode 0755, removed when this test process exits). */
  root: string;
  /** bin/vmstatedctl.cjs of the copy: run it with process.execPath. */
  vmstatedctl: string;
  /** A file: URL of the protocol client (ControlClient), for `await import(...)` in a script. */
  clientModule: string;
  /** test/security/hostile-client.ts, compiled: run it with process.execPath. */
  hostileClient: string;
  /** test/security/stream-client.ts, compiled: run it with process.execPath. */
  streamClient: string;
}

/** The files, in the order they are copied: the manifest after the bundle, so it is not older (src/cli/main.ts). */
const FILES = [
  'package.json',
  'bin/vmstatedctl.cjs',
  'dist/src/cli/bundle-loader.cjs',
  'dist/src/cli/vmstatedctl.cjs',
  'dist/src/cli/vmstatedctl.cjs.cache',
  'oclif.manifest.json',
  'dist/src/protocol/client.js',
  'dist/src/protocol/framing.js',
  'dist/src/protocol/types.js',
  'dist/test/security/hostile-client.js',
  'dist/test/security/stream-client.js',
];

let made: ReachableCopy | null = null;

export function reachableCopy(): ReachableCopy {
  if (made !== null) return made;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-reachable-'));
  process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  for (const file of FILES) {
    const to = path.join(root, file);
    fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
    fs.copyFileSync(path.join(PROJECT_ROOT, file), to);
    fs.chmodSync(to, file.startsWith('bin/') ? 0o755 : 0o644);
  }
  for (let dir = path.join(root, 'dist/src/cli'); dir.startsWith(root); dir = path.dirname(dir)) fs.chmodSync(dir, 0o755);
  for (const dir of ['bin', 'dist/src/protocol', 'dist/test/security', 'dist/test']) fs.chmodSync(path.join(root, dir), 0o755);
  made = {
    root,
    vmstatedctl: path.join(root, 'bin/vmstatedctl.cjs'),
    clientModule: pathToFileURL(path.join(root, 'dist/src/protocol/client.js')).href,
    hostileClient: path.join(root, 'dist/test/security/hostile-client.js'),
    streamClient: path.join(root, 'dist/test/security/stream-client.js'),
  };
  return made;
}
