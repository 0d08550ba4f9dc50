/**
 * Runs test/security/hostile-client.ts as an unprivileged uid (setpriv, as the authorization tests
 * do), from a copy in a directory that uid can reach, and collects the JSON lines it prints. Used
 * by the socket tests and by the flood bench (test/bench/flood.ts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/vmstated-env.js';

export const NOBODY = 65534;
const HOSTILE_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'hostile-client.js');

/** setpriv's arguments to run a command as `uid` (and the same gid) without supplementary groups. */
export function asUid(uid: number, command: readonly string[]): string[] {
  return [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...command];
}

/** A directory every user can enter, holding a copy of the hostile client; removed by the returned function. */
export function reachableScripts(): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-hostile-'));
  fs.chmodSync(dir, 0o755);
  fs.copyFileSync(HOSTILE_CLIENT, path.join(dir, 'hostile-client.mjs'));
  fs.chmodSync(path.join(dir, 'hostile-client.mjs'), 0o644);
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export type HostileMode = 'hold' | 'flood' | 'storm';

/** The hostile client running as `uid`; its JSON lines in order. */
export class Hostile {
  private readonly lines: unknown[] = [];
  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: child.stdout }).on('line', (line) => this.lines.push(JSON.parse(line)));
  }

  static start(scriptsDir: string, uid: number, mode: HostileMode, socket: string, count: number): Hostile {
    const script = path.join(scriptsDir, 'hostile-client.mjs');
    return new Hostile(spawn('setpriv', asUid(uid, [process.execPath, script, mode, socket, String(count)]), { stdio: 'pipe' }));
  }

  /** The first line (after `skip` of them) that has `key`. */
  next<T>(key: string, skip = 0): Promise<T> {
    return waitFor(`the hostile client to print ${key}`, () => {
      const found = this.lines.slice(skip).find((line) => typeof line === 'object' && line !== null && key in line);
      return found as T | undefined;
    }, 30_000);
  }

  /** Asks for its current figure (unsent bytes, answers) and resolves with it. */
  ask<T>(key: string): Promise<T> {
    const skip = this.lines.length;
    this.child.stdin.write('?\n');
    return this.next<T>(key, skip);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}
