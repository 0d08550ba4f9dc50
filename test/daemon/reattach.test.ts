import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { VmStatus } from '../../src/protocol/types.js';
import { BHYVECTL_SIM_BIN } from '../helpers/paths.js';
import { createVmstatedEnv, killAndWait, waitFor } from '../helpers/vmstated-env.js';
import { isProcessAlive as isAlive } from '../../src/shared/process.js';

test('after a SIGKILL of the registry a new one re-attaches to the running VM, then adopts a bhyve whose worker died', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web', { maxrestart: 5 });
  const first = await env.startDaemon();
  const client = await env.client();
  const { status: started } = await client.request<{ status: VmStatus }>('start', { vm: 'web' });
  client.close();
  const bhyvePid = started.pid!;
  const workerPid = started.workerPid!;

  await killAndWait(first);
  assert.equal(isAlive(bhyvePid), true, 'the VM keeps running without the registry');
  // Its config gets a mistake meanwhile: the new registry keeps supervising the running VM anyway.
  const configFile = path.join(env.configdir, 'web', 'config');
  const goodConfig = fs.readFileSync(configFile, 'utf8');
  fs.writeFileSync(configFile, 'web { configfile = bhyve_config; cpus = "lots"; }\n');
  const second = await env.startDaemon();
  assert.notEqual(second, first);
  const attached = await env.status('web');
  assert.equal(attached.state, 'running');
  assert.equal(attached.pid, bhyvePid, 'the same bhyve, not a second one');
  assert.equal(attached.workerPid, workerPid, 'the same worker');

  // A guest reboot after the re-attach is handled by the worker and seen by the new registry.
  const reboot = spawnSync(process.execPath, [BHYVECTL_SIM_BIN, '--vm=web', '--sim-guest=reboot'], { env: env.env, encoding: 'utf8' });
  assert.equal(reboot.status, 0, reboot.stderr);
  const rebooted = await env.waitForStatus('web', (s) => s.state === 'running' && s.pid !== bhyvePid && s.restarts === 1);
  assert.equal(rebooted.workerPid, workerPid);
  fs.writeFileSync(configFile, goodConfig);
  const fixer = await env.client();
  const reloaded = await fixer.request<{ changed: string[] }>('reload');
  fixer.close();
  assert.deepEqual(reloaded.changed, ['web'], 'the fixed config replaces the stand-in');

  // The worker dies under a running registry: a new worker adopts the same bhyve.
  const killedAt = Date.now();
  await killAndWait(workerPid);
  const recovered = await env.waitForStatus('web', (s) => s.workerPid !== null && s.workerPid !== workerPid);
  assert.deepEqual([recovered.state, recovered.pid], ['running', rebooted.pid]);
  assert.ok(Date.parse(recovered.since) < killedAt, `running since its bhyve started (${recovered.since}), not since the new worker did`);

  // Now the registry and the worker die together; at start, a new registry adopts the bhyve.
  await killAndWait(second);
  await killAndWait(recovered.workerPid!);
  assert.equal(isAlive(rebooted.pid!), true);
  await env.startDaemon();
  const adopted = await env.waitForStatus('web', (s) => s.workerPid !== null);
  assert.equal(adopted.state, 'running');
  assert.equal(adopted.pid, rebooted.pid, 'the orphaned bhyve was adopted, not replaced');
  assert.notEqual(adopted.workerPid, recovered.workerPid);

  // shutdown --keep-vms: the registry exits, the VM runs on under its worker, the next one re-attaches.
  const third = env.daemonPid()!;
  const admin = await env.client();
  assert.deepEqual(await admin.request('shutdown', { keepVms: true }), { shuttingDown: true, keepVms: true });
  admin.close();
  await waitFor('the registry to exit', () => (isAlive(third) ? undefined : true));
  assert.equal(isAlive(adopted.workerPid!), true);
  assert.equal(isAlive(adopted.pid!), true);
  await env.startDaemon();
  const kept = await env.status('web');
  assert.deepEqual([kept.state, kept.pid, kept.workerPid], ['running', adopted.pid, adopted.workerPid]);
  assert.equal(kept.configPending, false, 'the same config handed over again is not a pending change');

  const stopper = await env.client();
  const { status: stopped } = await stopper.request<{ status: VmStatus }>('stop', { vm: 'web' });
  stopper.close();
  assert.equal(stopped.state, 'stopped');
  await waitFor('the adopted bhyve to exit', () => (isAlive(rebooted.pid!) ? undefined : true));
});

test('a worker record whose worker and bhyve are both gone is removed at start', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  // What a crash of everything leaves: a record naming pids that are gone, and its socket path.
  const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout);
  fs.mkdirSync(env.rundir);
  const socket = path.join(env.rundir, 'web.sock');
  const record = path.join(env.rundir, 'web.worker.json');
  fs.writeFileSync(record, JSON.stringify({ vm: 'web', workerPid: deadPid(), bhyvePid: deadPid(), socket, startedAt: new Date().toISOString() }));
  fs.writeFileSync(socket, '');

  await env.startDaemon();
  assert.equal(fs.existsSync(record), false);
  assert.equal(fs.existsSync(socket), false);
  const after = await env.status('web');
  assert.deepEqual([after.state, after.pid, after.workerPid], ['stopped', null, null]);
  assert.match(env.daemonLog(), /removed a stale worker record/);
});

test('a VM that came to rest while no registry ran gives its worker back when the next registry attaches', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  const first = await env.startDaemon();
  const client = await env.client();
  const { status: started } = await client.request<{ status: VmStatus }>('start', { vm: 'web' });
  client.close();
  await killAndWait(first);

  // The guest powers off while no registry runs (asked again should its bhyve be between two runs).
  await waitFor('web\'s guest to take the power-off', () => {
    const poweroff = spawnSync(process.execPath, [BHYVECTL_SIM_BIN, '--vm=web', '--sim-guest=poweroff'], { env: env.env, encoding: 'utf8' });
    return poweroff.status === 0 ? true : undefined;
  }).catch((error: Error) => assert.fail(`${error.message}\n--- web.log ---\n${env.vmLog('web')}`));
  await waitFor('the worker to stop web on its own', () => (/-> stopped\b/.test(env.vmLog('web')) ? true : undefined));
  assert.equal(isAlive(started.workerPid!), true, 'the worker waits for a registry to report to');

  await env.startDaemon();
  const status = await env.waitForStatus('web', (s) => s.workerPid === null);
  assert.deepEqual([status.state, status.pid], ['stopped', null]);
  await waitFor('the released worker to exit', () => (isAlive(started.workerPid!) ? undefined : true));
});
