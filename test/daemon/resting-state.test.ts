import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ControlError } from '../../src/protocol/client.js';
import type { VmStatus } from '../../src/protocol/types.js';
import { createVmstatedEnv, killAndWait, waitFor } from '../helpers/vmstated-env.js';

function launches(logdir: string, vm: string): number {
  return fs.readFileSync(path.join(logdir, `${vm}.log`), 'utf8').split('\n').filter((line) => line.includes('launched bhyve pid')).length;
}

test('a failed VM stays failed, with its reason, across a registry SIGKILL (not autostarted) until failreset', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  // Reboots every 50 ms: the second restart within 60 s exceeds the window and the VM fails.
  const failing = { autostart: true, maxrestart: 1, maxrestarttime: '60s' };
  env.writeVm('web', failing, { bhyveLines: ['sim.guest=reboot@50ms'] });
  env.writeVm('gone');
  env.writeVm('other');
  const first = await env.startDaemon();
  const failed = await env.waitForStatus('web', (s) => s.state === 'failed' && s.workerPid === null);
  assert.match(failed.failureReason ?? '', /restarted too often/);
  assert.equal(failed.lastExit?.code, 0, 'the last exit (a reboot) is known');
  const stateFile = path.join(env.rundir, 'vmstated.state.json');
  // Saves follow transitions in the background: wait for the one that holds what status showed.
  await waitFor('the failure to be saved', () => {
    const saved = (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { vms: Record<string, Partial<VmStatus>> }).vms.web;
    const same = saved !== undefined && saved.state === 'failed' && saved.since === failed.since && saved.failureReason === failed.failureReason;
    return same && JSON.stringify(saved.lastExit) === JSON.stringify(failed.lastExit) ? true : undefined;
  });
  const launchedBefore = launches(env.logdir, 'web');

  await killAndWait(first);
  fs.rmSync(path.join(env.configdir, 'gone'), { recursive: true });
  // "other" autostarts with the new registry, in the same startorder tier as "web".
  env.writeVm('other', { autostart: true });
  await env.startDaemon();
  await env.waitForStatus('other', (s) => s.state === 'running');
  const after = await env.status('web');
  assert.deepEqual(
    [after.state, after.failureReason, after.lastExit, after.since, after.pid, after.workerPid],
    ['failed', failed.failureReason, failed.lastExit, failed.since, null, null],
  );
  assert.equal(launches(env.logdir, 'web'), launchedBefore, 'autostart did not start the failed VM');
  assert.match(env.daemonLog(), /web: still failed \(saved state\)/);
  const client = await env.client();
  await assert.rejects(client.request('start', { vm: 'web' }), (err: unknown) => err instanceof ControlError && err.code === 'INVALID_STATE' && /failreset/.test(err.message));
  await waitFor('the removed VM to leave the saved state', () => {
    const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { vms: Record<string, unknown> };
    return 'gone' in saved.vms ? undefined : saved;
  });

  // failreset is saved too: with the guest fixed, the next registry autostarts it.
  const { status: reset } = await client.request<{ status: VmStatus }>('failreset', { vm: 'web' });
  client.close();
  assert.equal(reset.state, 'stopped');
  await waitFor('the reset to be saved', () => (/"web":\{"state":"stopped"/.test(fs.readFileSync(stateFile, 'utf8')) ? true : undefined));
  env.writeVm('web', failing);
  await killAndWait(env.daemonPid()!);
  await env.startDaemon();
  const started = await env.waitForStatus('web', (s) => s.state === 'running');
  assert.equal(started.failureReason, null);
});

test('a corrupt saved state is reported in the daemon log and ignored, then replaced', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  fs.mkdirSync(env.rundir);
  const stateFile = path.join(env.rundir, 'vmstated.state.json');
  fs.writeFileSync(stateFile, '{"v":1,"vms":{"web":{"state":"fail');
  await env.startDaemon();
  const status = await env.status('web');
  assert.deepEqual([status.state, status.failureReason], ['stopped', null]);
  assert.match(env.daemonLog(), /saved state of stopped or failed VMs is not valid JSON; ignoring it/);
  const saved = await waitFor('a valid state file', () => {
    try {
      return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { vms: Record<string, { state: string }> };
    } catch {
      return undefined;
    }
  });
  assert.equal(saved.vms.web?.state, 'stopped');
});
