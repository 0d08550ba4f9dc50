import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendControl } from '../../src/bhyvesim/control.js';
import { controlSocketPath } from '../../src/bhyvesim/paths.js';
import { createVmstatedEnv, killAndWait, waitFor } from '../helpers/vmstated-env.js';
import { bhyvesByVm, doubledVms, startAll, statusAll, vmNames, vmmRecords } from './cluster.js';

const VMS = 50;

test(`registry SIGKILL with ${VMS} running VMs: the next registry re-attaches all, launches no second bhyve, handles later guest exits; a killed worker's VM is adopted`, { timeout: 150_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-crash-');
  t.after(() => env.destroy());
  const names = vmNames(VMS);
  for (const name of names) env.writeVm(name, { maxrestart: 10 });
  const first = await env.startDaemon();
  const client = await env.client();
  await startAll(client, names);
  const before = await statusAll(client);
  client.close();
  assert.deepEqual(before.filter((s) => s.state !== 'running').map((s) => s.name), []);

  await killAndWait(first);
  await env.startDaemon();
  const admin = await env.client();
  t.after(() => admin.close());
  const after = await statusAll(admin);
  const byName = new Map(after.map((s) => [s.name, s]));
  for (const old of before) {
    const now = byName.get(old.name);
    assert.deepEqual([now?.state, now?.pid, now?.workerPid], ['running', old.pid, old.workerPid], `${old.name} re-attached to its bhyve and worker`);
  }
  const bhyves = bhyvesByVm(env);
  assert.deepEqual([...bhyves.keys()].sort(), names, 'one simulated bhyve process per VM');
  assert.deepEqual(doubledVms(env), [], 'no VM has a second bhyve');
  assert.deepEqual(vmmRecords(env), names, 'one vmm instance per VM');

  // Guest exits after the re-attach are handled: a reboot relaunches, a poweroff stops.
  const [rebooter, poweroff] = [names[3]!, names[7]!];
  for (const [vm, action] of [[rebooter, 'reboot'], [poweroff, 'poweroff']] as const) {
    const reply = await sendControl(controlSocketPath(env.simdir, vm), { op: 'guest', action });
    assert.equal(typeof reply === 'object' && reply.ok, true, `${action} ${vm}: ${JSON.stringify(reply)}`);
  }
  const rebooted = await env.waitForStatus(rebooter, (s) => s.state === 'running' && s.restarts === 1);
  assert.notEqual(rebooted.pid, byName.get(rebooter)!.pid);
  assert.equal(rebooted.workerPid, byName.get(rebooter)!.workerPid, 'the same worker relaunched it');
  const stopped = await env.waitForStatus(poweroff, (s) => s.state === 'stopped');
  assert.equal(stopped.lastExit?.code, 1);
  await waitFor('the powered-off VM\'s vmm instance to be destroyed', () => (vmmRecords(env).includes(poweroff) ? undefined : true));

  // A worker SIGKILLed under the running registry: a new worker adopts the same bhyve.
  const orphan = byName.get(names[11]!)!;
  await killAndWait(orphan.workerPid!);
  const adopted = await env.waitForStatus(orphan.name, (s) => s.workerPid !== null && s.workerPid !== orphan.workerPid, 30_000);
  assert.deepEqual([adopted.state, adopted.pid], ['running', orphan.pid]);
  assert.deepEqual(bhyvesByVm(env).get(orphan.name), [orphan.pid], 'still its one bhyve');
  assert.deepEqual(doubledVms(env), []);
});
