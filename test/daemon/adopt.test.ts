import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { VmStatus } from '../../src/protocol/types.js';
import { BHYVECTL_SIM_BIN } from '../helpers/paths.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import type { VmstatedEnv } from '../helpers/vmstated-env.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killAndWait(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitFor(`pid ${pid} to die`, () => (isAlive(pid) ? undefined : true));
}

/** Makes the guest reboot; a bhyve just launched may not have its instance yet: then ask again. */
async function rebootGuest(env: VmstatedEnv, vm: string): Promise<void> {
  await waitFor(`the guest of ${vm} to take a reboot`, () => {
    const reboot = spawnSync(process.execPath, [BHYVECTL_SIM_BIN, `--vm=${vm}`, '--sim-guest=reboot'], { env: env.env, encoding: 'utf8' });
    if (reboot.status === 0) return true;
    if (/is not created|has no running bhyve/.test(reboot.stdout + reboot.stderr)) return undefined;
    assert.fail(`bhyvectl exited ${reboot.status}: ${reboot.stdout}${reboot.stderr}`);
  });
}

test('a worker that adopts a bhyve after a registry and worker SIGKILL keeps the restart history', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web', { maxrestart: 3, maxrestarttime: '10min' });
  const first = await env.startDaemon();
  const client = await env.client();
  await client.request<{ status: VmStatus }>('start', { vm: 'web' });
  client.close();
  let current = await env.status('web');
  for (const restarts of [1, 2]) {
    const before = current.pid;
    await rebootGuest(env, 'web');
    current = await env.waitForStatus('web', (s) => s.state === 'running' && s.pid !== before && s.restarts === restarts);
  }

  await killAndWait(first);
  await killAndWait(current.workerPid!);
  await env.startDaemon();
  const adopted = await env.waitForStatus('web', (s) => s.workerPid !== null);
  assert.deepEqual([adopted.state, adopted.pid, adopted.restarts], ['running', current.pid, 2]);
  assert.notEqual(adopted.workerPid, current.workerPid);

  // The window goes on counting: restart 3 is allowed, a 4th within 10 min fails the VM.
  await rebootGuest(env, 'web');
  const third = await env.waitForStatus('web', (s) => s.state === 'running' && s.pid !== current.pid && s.restarts === 3);
  await rebootGuest(env, 'web');
  const failed = await env.waitForStatus('web', (s) => s.state === 'failed');
  assert.match(failed.failureReason ?? '', /restarted too often/);
  assert.equal(isAlive(third.pid!), false);
});
