/**
 * A hostile local user against the control socket of a real daemon running as root (issue #10,
 * items 5 and 6): an unprivileged uid (setpriv, as test/daemon/authorization.test.ts does) floods
 * one connection with 100,000 `events` requests it never reads, then opens 700 idle connections.
 * Root's `vmstatedctl status` still works, the user is refused with LIMIT and the limit's value,
 * and the daemon's memory stays bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { CONTROL_LIMITS } from '../../src/daemon/connection-limits.js';
import { VMSTATEDCTL_BIN } from '../helpers/paths.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import type { VmstatedEnv } from '../helpers/vmstated-env.js';
import { Hostile, NOBODY, asUid, reachableScripts } from './hostile.js';

/** The one way this file runs vmstatedctl as the hostile user (switch here to run it from a reachable copy). */
function ctlAsNobody(env: VmstatedEnv, args: readonly string[], timeoutMs = 30_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('setpriv', asUid(NOBODY, [process.execPath, VMSTATEDCTL_BIN, '-s', env.sockpath, ...args]), {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: { PATH: process.env.PATH, HOME: '/nonexistent' },
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function ctlAsRoot(env: VmstatedEnv, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [VMSTATEDCTL_BIN, '-s', env.sockpath, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
}

test('one user floods a connection with 100,000 events requests and holds 700 more: root\'s status works, the user gets LIMIT errors naming each limit, the daemon stays small', { timeout: 90_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test switches to uid nobody with setpriv and must run as root (CI does)');
  const env = createVmstatedEnv('vmstated-abuse-');
  t.after(() => env.destroy());
  fs.chmodSync(env.dir, 0o755); // nobody must reach the socket
  const scripts = reachableScripts();
  t.after(() => scripts.remove());
  env.writeVm('web', { owner: 'nobody' });
  const daemonPid = await env.startDaemon();
  assert.equal(ctlAsRoot(env, 'status').status, 0);
  const rssBefore = rssMiB(daemonPid);
  const { maxConnectionsPerUser, maxStreamsPerUser } = CONTROL_LIMITS;

  const flood = Hostile.start(scripts.dir, NOBODY, 'flood', env.sockpath, 100_000);
  t.after(() => flood.stop());
  await flood.next('written');
  // The flood's connection holds all the streams nobody may have: one more is refused, by name.
  const events = await waitFor('the flood to take every stream of its user', () => {
    // Until the flood holds them all, `events` is served: it is cut short and tried again.
    const result = ctlAsNobody(env, ['events'], 5_000);
    return /too many streams/.test(result.stderr) ? result : undefined;
  }, 30_000);
  assert.equal(events.status, 1, events.stderr);
  assert.match(events.stderr, new RegExp(`too many streams \\(events, logs -f, console\\) of uid ${NOBODY}: the limit is ${maxStreamsPerUser} per user`));

  const hold = Hostile.start(scripts.dir, NOBODY, 'hold', env.sockpath, 700);
  t.after(() => hold.stop());
  const held = await hold.next<{ served: number; refused: number; message: string }>('served');
  assert.equal(held.served, maxConnectionsPerUser - 1, 'the flood\'s connection counts too');
  assert.equal(held.refused, 700 - held.served);
  assert.match(held.message, new RegExp(`^connection refused: too many connections of uid ${NOBODY}: the limit is ${maxConnectionsPerUser} per user$`));

  const refused = ctlAsNobody(env, ['status']);
  assert.equal(refused.status, 1, 'a refusal is not "vmstated cannot be reached" (exit 3)');
  assert.match(refused.stderr, new RegExp(`too many connections of uid ${NOBODY}: the limit is ${maxConnectionsPerUser} per user`));
  assert.doesNotMatch(refused.stderr, /cannot connect/);

  const root = ctlAsRoot(env, '--json', 'status');
  assert.equal(root.status, 0, root.stderr);
  assert.deepEqual((JSON.parse(root.stdout) as Array<{ name: string }>).map((vm) => vm.name), ['web']);

  const { unsent } = await flood.ask<{ unsent: number }>('unsent');
  assert.ok(unsent > 0, 'the daemon stopped reading the flooding connection: its requests wait in the client');
  const growth = rssMiB(daemonPid) - rssBefore;
  t.diagnostic(`daemon RSS ${rssBefore.toFixed(1)} MiB before, +${growth.toFixed(1)} MiB under the flood; ${unsent} bytes of requests unread`);
  assert.ok(growth < 40, `the daemon's memory stays bounded (+${growth.toFixed(1)} MiB)`);
});
