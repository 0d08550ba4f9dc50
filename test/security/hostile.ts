/**
 * A hostile local user for the security tests: an unprivileged uid (nobody, 65534), switched to
 * with setpriv as the authorization tests do, against a real daemon that runs as root. It runs
 * vmstatedctl (from a copy every user can reach), shell commands, and
 * test/security/hostile-client.ts, whose JSON lines it collects (the socket tests and the flood
 * bench, test/bench/flood.ts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import type { TestContext } from 'node:test';
import type { ConfigProblem } from '../../src/config/types.js';
import { reachableCopy } from '../helpers/reachable.js';
import { createVmstatedEnv, waitFor, type VmstatedEnv } from '../helpers/vmstated-env.js';

export const NOBODY = 65534;
/** What a hostile shell or vmstatedctl gets: no environment of root's. */
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/nonexistent' };

/** setpriv's arguments to run a command as `uid` (and the same gid) without supplementary groups. */
export function asUid(uid: number, command: readonly string[]): string[] {
  return [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...command];
}

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

/** Runs `command` as nobody to completion; past `timeoutMs` it is killed (status null), which is an outcome, not an error. */
function runAsNobody(command: readonly string[], cwd = '/', timeoutMs = 30_000): Ran {
  const result = spawnSync('setpriv', asUid(NOBODY, command), { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', cwd, env: ENV });
  if (result.error && (result.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `vmstatedctl -s <sock> args...` as nobody. */
export function ctlAsNobody(env: VmstatedEnv, ...args: string[]): Ran {
  return ctlAsNobodyWithin(env, args, 30_000);
}

/** `vmstatedctl -s <sock> args...` as nobody, killed after `timeoutMs` (a stream such as `events` never ends). */
export function ctlAsNobodyWithin(env: VmstatedEnv, args: readonly string[], timeoutMs: number): Ran {
  return runAsNobody([process.execPath, reachableCopy().vmstatedctl, '-s', env.sockpath, ...args], '/', timeoutMs);
}

/** `/bin/sh -c script` as nobody, to completion. */
export function shAsNobody(script: string, cwd = '/'): Ran {
  return runAsNobody(['/bin/sh', '-c', script], cwd);
}

/** `/bin/sh -c script` as nobody in the background; stop() kills it and waits for it. */
export function shAsNobodyInBackground(script: string): { stop(): Promise<void> } {
  const child = spawn('setpriv', asUid(NOBODY, ['/bin/sh', '-c', script]), { cwd: '/', env: ENV, stdio: 'ignore', detached: true });
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

export type HostileMode = 'hold' | 'flood' | 'storm';

/** A reply line as the hostile client's pipeline mode prints it. */
export interface PipelinedReply {
  v: number;
  id: number | string | null;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

/** The hostile client running as `uid`; its JSON lines in order. */
export class Hostile {
  private readonly lines: unknown[] = [];
  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: child.stdout }).on('line', (line) => this.lines.push(JSON.parse(line)));
  }

  static start(uid: number, mode: HostileMode, socket: string, count: number): Hostile {
    const command = [process.execPath, reachableCopy().hostileClient, mode, socket, String(count)];
    return new Hostile(spawn('setpriv', asUid(uid, command), { stdio: 'pipe', cwd: '/' }));
  }

  /** The pipeline client: `requests` written at once on one connection; see replies(). */
  static pipeline(uid: number, socket: string, requests: readonly object[]): Hostile {
    const command = [process.execPath, reachableCopy().hostileClient, 'pipeline', socket, JSON.stringify(requests)];
    return new Hostile(spawn('setpriv', asUid(uid, command), { stdio: 'pipe', cwd: '/' }));
  }

  /** The unread client: `connections` connections, each writing `requests` and never reading a reply. */
  static unread(uid: number, socket: string, connections: number, requests: readonly object[]): Hostile {
    const command = [process.execPath, reachableCopy().hostileClient, 'unread', socket, String(connections), JSON.stringify(requests)];
    return new Hostile(spawn('setpriv', asUid(uid, command), { stdio: 'pipe', cwd: '/' }));
  }

  /** The pipeline client's replies so far, once there are at least `count`. */
  async replies(count: number): Promise<PipelinedReply[]> {
    try {
      return await waitFor(`${count} replies to the pipelined requests`, () => {
        const replies = this.lines.flatMap((line) => (typeof line === 'object' && line !== null && 'reply' in line ? [line.reply as PipelinedReply] : []));
        return replies.length >= count ? replies : undefined;
      }, 30_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the client printed ${JSON.stringify(this.lines)}`);
    }
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
