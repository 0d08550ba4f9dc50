/**
 * Authorization end to end: the real vmstatedctl, run under other uids and groups with setpriv,
 * against the real daemon. The kernel's peer credentials decide, as DESIGN.md section 6 says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { VmStatus } from '../../src/protocol/types.js';
import { reachableCopy } from '../helpers/reachable.js';
import { createVmstatedEnv, type VmstatedEnv } from '../helpers/vmstated-env.js';

const NOBODY = 65534;
/** A group nobody is not in by the account files; setpriv adds it to the client's groups. */
const TEAM_GID = 4242;

/** Runs `vmstatedctl -s <sock> args...` as uid/gid nobody with exactly `groups` as supplementary groups. */
function ctlAs(env: VmstatedEnv, groups: number[], ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const groupArgs = groups.length > 0 ? [`--groups=${groups.join(',')}`] : ['--clear-groups'];
  const result = spawnSync(
    'setpriv',
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, ...groupArgs, '--', process.execPath, reachableCopy().vmstatedctl, '-s', env.sockpath, ...args],
    { encoding: 'utf8', timeout: 30_000, cwd: '/', env: { PATH: process.env.PATH, HOME: '/nonexistent' } },
  );
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function visibleNames(env: VmstatedEnv, groups: number[]): string[] {
  const listed = ctlAs(env, groups, '--json', 'status');
  assert.equal(listed.status, 0, listed.stderr);
  return (JSON.parse(listed.stdout) as VmStatus[]).map((vm) => vm.name).sort();
}

test('a member of a VM\'s group starts and stops it with vmstatedctl; without the group the VM is invisible; reload stays root\'s', async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test switches uids with setpriv and must run as root (CI does)');
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  fs.chmodSync(env.dir, 0o755); // the socket lives in the (0700) temp dir
  env.writeVm('team', { group: String(TEAM_GID) });
  env.writeVm('mine', { owner: 'nobody' });
  env.writeVm('root-only');
  await env.startDaemon();

  assert.deepEqual(visibleNames(env, [TEAM_GID]), ['mine', 'team'], 'a member sees its group\'s VM and the one it owns');
  assert.deepEqual(visibleNames(env, []), ['mine'], 'without the group, only the VM it owns');

  const started = ctlAs(env, [TEAM_GID], 'start', 'team');
  assert.equal(started.status, 0, started.stderr);
  assert.equal((await env.status('team')).state, 'running');

  const strangerStop = ctlAs(env, [], 'stop', 'team');
  assert.equal(strangerStop.status, 1);
  assert.match(strangerStop.stderr, /no VM named "team"/, 'refused exactly as for a VM that does not exist');
  assert.equal((await env.status('team')).state, 'running');

  const stopped = ctlAs(env, [TEAM_GID], 'stop', 'team');
  assert.equal(stopped.status, 0, stopped.stderr);
  assert.equal((await env.status('team')).state, 'stopped');

  const foreign = ctlAs(env, [TEAM_GID], 'start', 'root-only');
  assert.equal(foreign.status, 1);
  assert.match(foreign.stderr, /no VM named "root-only"/);
  assert.equal((await env.status('root-only')).state, 'stopped');

  const reload = ctlAs(env, [TEAM_GID], 'reload');
  assert.equal(reload.status, 1);
  assert.match(reload.stderr, /root/i);
});
