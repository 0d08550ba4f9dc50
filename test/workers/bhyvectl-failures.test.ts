/**
 * The stop escalation when bhyvectl misbehaves: hangs (with a child of its own), fails, or hangs
 * after bhyve already exited; and a failed `--destroy`. Each with a stand-in bhyvectl script; the
 * log, the outcome and the processes left over are checked.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { VmFixture, isAlive, until } from './harness.js';

/** A bhyvectl stand-in: records its calls, runs `poweroff` for --force-poweroff, `destroy` for --destroy. */
function bhyvectlScript({ poweroff = 'exit 0', destroy = 'exit 0' }: { poweroff?: string; destroy?: string }): string {
  return `#!/bin/sh
d=$(dirname "$0")
echo "$*" >> "$d/bhyvectl.calls"
case "$*" in
*--force-poweroff*) ${poweroff} ;;
*--destroy*) ${destroy} ;;
esac
exit 0
`;
}

/** Runs a `sleep` that outlives a killed bhyvectl unless its process group goes too; its pid in sleep.pid. */
const HANG_WITH_A_CHILD = 'sleep 100000 & echo $! >> "$d/stray.pids"; echo $! > "$d/sleep.pid"; wait';

function sleepPid(vm: VmFixture): number {
  return Number(fs.readFileSync(path.join(vm.root, 'sleep.pid'), 'utf8'));
}

/** Epoch ms of the first VM log line matching `pattern`. */
function loggedAt(vm: VmFixture, pattern: RegExp): number {
  const line = vm.logText().split('\n').find((text) => pattern.test(text));
  assert.ok(line !== undefined, `no log line matches ${pattern}`);
  return Date.parse(line.split(' ')[0]!);
}

test('a hanging bhyvectl --force-poweroff is killed with its child after 10 s, and SIGKILL follows at once', async (t) => {
  const vm = new VmFixture(t, { plan: ['deaf'], config: { stoptimeout: 0.3 }, bhyvectl: bhyvectlScript({ poweroff: HANG_WITH_A_CHILD }) });
  const api = await vm.spawn();
  const pid = (await api.start()).status.pid as number;
  await vm.guestReady();
  const outcome = await api.stop();
  assert.equal(outcome.ok, true);
  assert.equal(outcome.status.state, 'stopped');
  assert.deepEqual(outcome.status.lastExit, { code: null, signal: 'SIGKILL', meaning: 'killed by SIGKILL' });
  assert.equal(outcome.forced, 'SIGKILL after the forced power-off failed (bhyvectl --force-poweroff did not finish within 10 s)');
  assert.equal(isAlive(pid), false);
  const log = vm.logText();
  assert.match(log, / vmstated: bhyvectl --force-poweroff did not finish within 10 s; killed\n/);
  assert.match(log, / vmstated: forced power-off FAILED \(bhyvectl --force-poweroff did not finish within 10 s\): sending SIGKILL to bhyve pid \d+\n/);
  assert.doesNotMatch(log, /still running 5 s after the forced power-off/, 'no wait after a power-off that failed');
  const waited = loggedAt(vm, /forced power-off FAILED/) - loggedAt(vm, /did not finish within 10 s; killed/);
  assert.ok(waited < 1_000, `SIGKILL went out ${waited} ms after bhyvectl was given up on`);
  await until(() => !isAlive(sleepPid(vm)), 3_000, 'the child of the killed bhyvectl to be gone with it');
  assert.deepEqual(vm.bhyvectlCalls(), ['--vm=web --destroy', '--vm=web --force-poweroff', '--vm=web --destroy']);
});

test('a failing bhyvectl --force-poweroff (exit 1) is logged as a failure, and the reply says SIGKILL ended bhyve', async (t) => {
  const failing = 'echo "vm_suspend: Device not configured" >&2; exit 1';
  const vm = new VmFixture(t, { plan: ['deaf'], config: { stoptimeout: 0.3 }, bhyvectl: bhyvectlScript({ poweroff: failing }) });
  const api = await vm.spawn();
  await api.start();
  await vm.guestReady();
  const outcome = await api.stop();
  assert.equal(outcome.status.state, 'stopped');
  assert.deepEqual(outcome.status.lastExit?.signal, 'SIGKILL');
  assert.equal(outcome.forced, 'SIGKILL after the forced power-off failed (bhyvectl --force-poweroff exited 1: vm_suspend: Device not configured)');
  const log = vm.logText();
  assert.match(log, / bhyvectl: vm_suspend: Device not configured\n/);
  assert.match(log, / vmstated: forced power-off FAILED \(bhyvectl --force-poweroff exited 1: vm_suspend: Device not configured\): sending SIGKILL to bhyve pid \d+\n/);
  assert.doesNotMatch(log, /still running 5 s after the forced power-off/);
});

test('bhyve exiting while bhyvectl --force-poweroff hangs ends the wait: bhyvectl and its child are killed', async (t) => {
  const vm = new VmFixture(t, { plan: ['ignore-term'], config: { stoptimeout: 0.3 }, bhyvectl: bhyvectlScript({ poweroff: `touch "$d/poweroff"; ${HANG_WITH_A_CHILD}` }) });
  const api = await vm.spawn();
  await api.start();
  await vm.guestReady();
  const outcome = await api.stop();
  assert.equal(outcome.status.state, 'stopped');
  assert.deepEqual(outcome.status.lastExit, { code: 1, signal: null, meaning: 'powered off' });
  assert.equal(outcome.forced, 'forced power-off after 0.3 s (stoptimeout)');
  const log = vm.logText();
  assert.match(log, / vmstated: bhyvectl --force-poweroff no longer needed \(bhyve exited\); killed\n/);
  assert.doesNotMatch(log, /did not finish within 10 s|SIGKILL to bhyve/);
  await until(() => !isAlive(sleepPid(vm)), 3_000, 'the child of the abandoned bhyvectl to be gone with it');
});

test('a failed bhyvectl --destroy after a stop is in the outcome, not only in the log', async (t) => {
  const vm = new VmFixture(t, { plan: ['run'], bhyvectl: bhyvectlScript({ destroy: 'echo "vm_destroy: Device busy" >&2; exit 1' }) });
  const api = await vm.spawn();
  await api.start();
  await vm.guestReady();
  const outcome = await api.stop();
  assert.equal(outcome.ok, true, 'the VM did stop');
  assert.equal(outcome.status.state, 'stopped');
  assert.equal(outcome.forced, undefined, 'the guest powered off by itself');
  assert.equal(outcome.destroyFailed, "bhyvectl --destroy failed: exited 1: vm_destroy: Device busy (the VM's memory may stay reserved)");
  assert.match(vm.logText(), / vmstated: could not destroy vmm instance web: bhyvectl --destroy exited 1: vm_destroy: Device busy; its memory stays reserved until it is destroyed\n/);
  const again = await api.stop();
  assert.equal(again.destroyFailed, undefined, 'a stop with nothing to stop reports no earlier failure');
});
