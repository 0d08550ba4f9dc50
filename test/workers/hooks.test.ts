/** Hook scripts: failures and the cleanup rule, timeouts, leftovers, environment and cwd. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { VmState } from '../../src/protocol/types.js';
import { ALL_HOOKS, VmFixture, isAlive, recordingHook, until } from './harness.js';

interface FailureCase {
  failing: VmState;
  /** How the VM gets to the failing hook once started. */
  drive: 'start' | 'reboot' | 'stop';
  /** Every hook run, in order, ending with the failure cleanup and `failed`. */
  hooks: VmState[];
}

const START = ['start_network', 'start_storage', 'running'] as VmState[];
const CASES: FailureCase[] = [
  { failing: 'start_network', drive: 'start', hooks: ['start_network', 'stop_network', 'failed'] },
  { failing: 'start_storage', drive: 'start', hooks: ['start_network', 'start_storage', 'stop_storage', 'stop_network', 'failed'] },
  { failing: 'running', drive: 'start', hooks: [...START, 'stop_storage', 'stop_network', 'failed'] },
  { failing: 'restarting', drive: 'reboot', hooks: [...START, 'restarting', 'stop_storage', 'stop_network', 'failed'] },
  { failing: 'restarted', drive: 'reboot', hooks: [...START, 'restarting', 'restarted', 'stop_storage', 'stop_network', 'failed'] },
  { failing: 'stopping', drive: 'stop', hooks: [...START, 'stopping', 'stop_storage', 'stop_network', 'failed'] },
  { failing: 'stop_storage', drive: 'stop', hooks: [...START, 'stopping', 'stop_storage', 'stop_network', 'failed'] },
  { failing: 'stop_network', drive: 'stop', hooks: [...START, 'stopping', 'stop_storage', 'stop_network', 'failed'] },
  { failing: 'stopped', drive: 'stop', hooks: [...START, 'stopping', 'stop_storage', 'stop_network', 'stopped', 'failed'] },
];

for (const { failing, drive, hooks } of CASES) {
  test(`hook ${failing} fails: cleanup ${hooks.slice(hooks.lastIndexOf(failing) + 1).join(', ')}; no bhyve left`, async (t) => {
    const bodies = Object.fromEntries(ALL_HOOKS.map((state) => [state, recordingHook()]));
    // one hook dies of a signal rather than an exit code; the `failed` hook's own failure is ignored
    bodies[failing] = recordingHook(failing === 'stopped' ? 'kill -s KILL $$' : 'echo "cannot do it" >&2; exit 7');
    bodies.failed = recordingHook('exit 9');
    const vm = new VmFixture(t, { hooks: bodies, plan: drive === 'reboot' ? ['exit:0:0.1', 'run'] : ['run'] });
    const api = await vm.spawn();
    const started = await api.start();
    if (drive === 'stop') {
      await vm.guestReady();
      const stopped = await api.stop();
      assert.equal(stopped.ok, false);
    }
    if (drive === 'start') assert.equal(started.ok, false);
    await vm.waitForEvent((event) => event.type === 'hook' && event.hook === 'failed', 10_000, 'the failed hook');
    const status = await api.status();
    assert.equal(status.state, 'failed');
    assert.match(status.failureReason ?? '', new RegExp(`hook ${failing} failed: ${failing === 'stopped' ? 'killed by SIGKILL' : 'exit 7'}`));
    assert.deepEqual(vm.hooksRun(), hooks);
    assert.equal(status.pid, null);
    for (const pid of vm.bhyvePids()) assert.equal(isAlive(pid), false, `bhyve ${pid} is gone`);
    assert.match(vm.hookLines().at(-1) ?? '', /^failed reason=failure /);
    assert.match(vm.logText(), new RegExp(`hook ${failing}/stderr: cannot do it|hook ${failing} FAILED: killed by SIGKILL`));
    if (vm.launches() > 0) assert.equal(vm.bhyvectlCalls().at(-1), '--vm=web --destroy', 'destroyed after the final exit');
  });
}

test('a failing cleanup hook during failure mode is logged, not fatal', async (t) => {
  const vm = new VmFixture(t, { hooks: { running: recordingHook('exit 1'), stop_storage: recordingHook('exit 2'), stop_network: recordingHook() } });
  const api = await vm.spawn();
  const outcome = await api.start();
  assert.equal(outcome.status.state, 'failed');
  assert.deepEqual(vm.hooksRun(), ['running', 'stop_storage', 'stop_network']);
  assert.match(vm.logText(), /hook stop_storage failed \(exit 2\) during failure cleanup: logged, not fatal/);
  assert.match(outcome.status.failureReason ?? '', /hook running failed: exit 1/);
});

test('a hook that never ends and ignores SIGTERM: failed within hooktimeout + grace, nothing of it left', async (t) => {
  const hung = recordingHook(`trap '' TERM
echo $$ >> "$VMSTATED_CONFIGDIR/../stray.pids"
sleep 60 &
echo $! >> "$VMSTATED_CONFIGDIR/../stray.pids"
while :; do sleep 0.1; done`);
  const vm = new VmFixture(t, { hooks: { start_storage: hung }, config: { hooktimeout: 1 } });
  const api = await vm.spawn();
  const before = Date.now();
  const outcome = await api.start();
  const elapsed = Date.now() - before;
  assert.equal(outcome.status.state, 'failed');
  assert.match(outcome.status.failureReason ?? '', /hook start_storage failed: timed out after 1 s/);
  assert.ok(elapsed >= 1_000 && elapsed < 9_000, `failed after ${elapsed} ms (hooktimeout 1 s + 2 s grace)`);
  const stray = fs.readFileSync(path.join(vm.root, 'stray.pids'), 'utf8').trim().split('\n').map(Number);
  assert.equal(stray.length, 2);
  await until(() => stray.every((pid) => !isAlive(pid)), 3_000, 'the hook and its child to be gone');
  assert.match(vm.logText(), /ignored SIGTERM: sending SIGKILL to its process group/);
  assert.equal(vm.launches(), 0);
});

test('a hook that exits but leaves a background child holding its stdout does not hang the VM', async (t) => {
  const leaves = `#!/bin/sh
sleep 30 &
echo $! >> "$VMSTATED_CONFIGDIR/../stray.pids"
echo "network ready"
exit 0
`;
  const vm = new VmFixture(t, { hooks: { start_network: leaves }, config: { hooktimeout: 20 } });
  const api = await vm.spawn();
  const before = Date.now();
  const outcome = await api.start();
  assert.equal(outcome.ok, true);
  assert.equal(outcome.status.state, 'running');
  assert.ok(Date.now() - before < 10_000, 'completion is decided by the hook exit, not by EOF (which comes after 30 s)');
  assert.match(vm.logText(), /hook start_network\/stdout: network ready/);
  assert.match(vm.logText(), /hook start_network succeeded: exit 0 in \d+ ms/);
});

test('hook environment and cwd; a non-executable hook file is skipped with a note', async (t) => {
  const vm = new VmFixture(t, { plan: ['exit:0:0.1', 'run'] });
  const scripts = path.join(vm.root, 'scripts');
  fs.mkdirSync(scripts);
  for (const state of ['start_network', 'restarting', 'restarted'] as const) {
    fs.writeFileSync(path.join(scripts, state), recordingHook(), { mode: 0o755 });
  }
  fs.writeFileSync(path.join(scripts, 'start_storage'), recordingHook(), { mode: 0o644 });
  vm.vm.scriptpath = scripts;
  const api = await vm.spawn();
  await api.start();
  await vm.waitForEvent((event) => event.type === 'hook' && event.hook === 'restarted', 10_000, 'the restarted hook');
  const [network, restarting, restarted] = vm.hookLines();
  assert.equal(network, `start_network reason=start pid= exit= vm=web configdir=${vm.vmDir} cwd=${scripts}`);
  const [firstPid, secondPid] = (await vm.events()).flatMap((event) => (event.type === 'launch' ? [event.pid] : []));
  assert.equal(restarting, `restarting reason=reboot pid=${firstPid} exit=0 vm=web configdir=${vm.vmDir} cwd=${scripts}`);
  assert.equal(restarted, `restarted reason=reboot pid=${secondPid} exit=0 vm=web configdir=${vm.vmDir} cwd=${scripts}`);
  assert.equal(vm.hookLines().length, 3, 'the non-executable start_storage did not run');
  assert.match(vm.logText(), /start_storage is not an executable file: skipped/);
});
