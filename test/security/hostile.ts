/**
 * A hostile local user for the security tests: uid/gid nobody (65534), switched to with setpriv
 * as the authorization tests do. It runs vmstatedctl (from a copy every user can reach) and shell
 * commands against a real daemon that runs as root.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { ConfigProblem } from '../../src/config/types.js';
import { reachableCopy } from '../helpers/reachable.js';
import { createVmstatedEnv, type VmstatedEnv } from '../helpers/vmstated-env.js';

export const NOBODY = 65534;
const AS_NOBODY = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/nonexistent' };

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function requireRoot(): void {
  assert.equal(process.geteuid?.(), 0, 'the security tests run a root daemon and switch to nobody with setpriv: run them as root (CI does)');
}

/**
 * A test env for a root daemon (removed when the test ends) whose socket nobody can reach: the
 * temp dir is made 0755; its contents stay root's.
 */
export function envOpenToNobody(t: TestContext, prefix: string): VmstatedEnv {
  requireRoot();
  const env = createVmstatedEnv(prefix);
  t.after(() => env.destroy());
  fs.chmodSync(env.dir, 0o755);
  return env;
}

/** `vmstatedctl -s <sock> args...` as nobody. */
export function ctlAsNobody(env: VmstatedEnv, ...args: string[]): Ran {
  const result = spawnSync('setpriv', [...AS_NOBODY, process.execPath, reachableCopy().vmstatedctl, '-s', env.sockpath, ...args], {
    encoding: 'utf8', timeout: 30_000, cwd: '/', env: ENV,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `/bin/sh -c script` as nobody, to completion. */
export function shAsNobody(script: string, cwd = '/'): Ran {
  const result = spawnSync('setpriv', [...AS_NOBODY, '/bin/sh', '-c', script], { encoding: 'utf8', timeout: 30_000, cwd, env: ENV });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `/bin/sh -c script` as nobody in the background; stop() kills it and waits for it. */
export function shAsNobodyInBackground(script: string): { stop(): Promise<void> } {
  const child = spawn('setpriv', [...AS_NOBODY, '/bin/sh', '-c', script], { cwd: '/', env: ENV, stdio: 'ignore', detached: true });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
}

/** The config problems as root gets them on the socket. */
export async function problemsAsRoot(env: VmstatedEnv): Promise<ConfigProblem[]> {
  const client = await env.client();
  try {
    return await client.request<ConfigProblem[]>('problems');
  } finally {
    client.close();
  }
}
