/**
 * A uid with no passwd entry (a jail's or a container's user, a numeric setuid) and no HOME or
 * SHELL in its environment: vmstatedctl still works, and the VM it owns by number is its.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { VmStatus } from '../../src/protocol/types.js';
import { reachableCopy } from '../helpers/reachable.js';
import { asUid, envOpenToNobody } from './hostile.js';

const UNNAMED = 54321;

test('vmstatedctl run by a uid that has no passwd entry, without HOME or SHELL, sees and starts the VM it owns', async (t) => {
  const env = envOpenToNobody(t, 'vmstated-sec-unnamed-');
  env.writeVm('theirs', { owner: String(UNNAMED) });
  env.writeVm('other');
  await env.startDaemon();
  const ctl = (...args: string[]) =>
    spawnSync('setpriv', asUid(UNNAMED, [process.execPath, reachableCopy().vmstatedctl, '-s', env.sockpath, ...args]), {
      cwd: '/', encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH },
    });

  const listed = ctl('--json', 'status');
  assert.equal(listed.status, 0, listed.stderr);
  assert.deepEqual((JSON.parse(listed.stdout) as VmStatus[]).map((vm) => vm.name), ['theirs']);
  const started = ctl('start', 'theirs');
  assert.equal(started.status, 0, started.stderr);
  assert.equal((await env.status('theirs')).state, 'running');
});
