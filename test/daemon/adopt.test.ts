import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_REMOVED_NOTE } from '../../src/daemon/vm-entry.js';
import { ControlError } from '../../src/protocol/client.js';
import type { VmStatus } from '../../src/protocol/types.js';
import { BHYVECTL_SIM_BIN } from '../helpers/paths.js';
import { createVmstatedEnv, killAndWait, waitFor } from '../helpers/vmstated-env.js';
import type { VmstatedEnv } from '../helpers/vmstated-env.js';
import { isProcessAlive as isAlive } from '../../src/shared/process.js';

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

test('a running VM whose config was removed while the registry was away is kept, visible and stoppable, its worker alive or dead', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  env.writeVm('db');
  const first = await env.startDaemon();
  const client = await env.client();
  const { status: web } = await client.request<{ status: VmStatus }>('start', { vm: 'web' });
  const { status: db } = await client.request<{ status: VmStatus }>('start', { vm: 'db' });
  client.close();
  // bhyve reads its config file after the launch: removing the configs before then would crash it.
  for (const vm of ['web', 'db']) {
    await waitFor(`${vm}'s guest to boot`, () => (/guest running/.test(env.vmLog(vm)) ? true : undefined));
  }

  await killAndWait(first);
  await killAndWait(web.workerPid!); // db's worker lives on
  fs.rmSync(path.join(env.configdir, 'web'), { recursive: true });
  fs.rmSync(path.join(env.configdir, 'db'), { recursive: true });
  await env.startDaemon();
  const keptWeb = await env.waitForStatus('web', (s) => s.workerPid !== null);
  assert.deepEqual([keptWeb.state, keptWeb.pid, keptWeb.description], ['running', web.pid, CONFIG_REMOVED_NOTE]);
  assert.notEqual(keptWeb.workerPid, web.workerPid);
  const keptDb = await env.status('db');
  assert.deepEqual([keptDb.state, keptDb.pid, keptDb.workerPid, keptDb.description], ['running', db.pid, db.workerPid, CONFIG_REMOVED_NOTE]);
  assert.equal(env.daemonLog().match(/a running VM is no longer configured; it is kept running until stopped/g)?.length, 2);

  // A reload (SIGHUP, e.g. from newsyslog) leaves them running; a VM without a config cannot start.
  const admin = await env.client();
  const reloaded = await admin.request<{ removed: string[]; changed: string[] }>('reload');
  assert.deepEqual(reloaded.removed, []);
  const listed = (await admin.request<VmStatus[]>('status')).map((s) => [s.name, s.state, s.pid]).sort();
  assert.deepEqual(listed, [['db', 'running', db.pid], ['web', 'running', web.pid]]);
  await assert.rejects(admin.request('restart', { vm: 'nosuch' }), (err: unknown) => err instanceof ControlError && err.code === 'NOT_FOUND');

  // The config of db comes back: db is an ordinary VM again and stays listed once stopped.
  env.writeVm('db');
  assert.deepEqual((await admin.request<{ changed: string[] }>('reload')).changed, ['db']);
  assert.equal((await env.status('db')).description, null);

  // Stopping the kept VM stops its bhyve cleanly; then it is gone from the list.
  const { status: stoppedWeb } = await admin.request<{ status: VmStatus }>('stop', { vm: 'web' });
  assert.equal(stoppedWeb.state, 'stopped');
  await waitFor('the kept bhyve to exit', () => (isAlive(web.pid!) ? undefined : true));
  const { status: stoppedDb } = await admin.request<{ status: VmStatus }>('stop', { vm: 'db' });
  assert.equal(stoppedDb.state, 'stopped');
  assert.deepEqual((await admin.request<VmStatus[]>('status')).map((s) => [s.name, s.state]), [['db', 'stopped']]);
  admin.close();
  assert.match(env.daemonLog(), /a VM kept without a config has stopped; dropped/);
});
