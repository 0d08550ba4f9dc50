/** The restart window, bhyve failing at launch, and the stop escalation. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VmFixture, isAlive, recordingHook } from './harness.js';

test('restart window, maxrestart 2: the 3rd quick reboot fails the VM; failreset clears the count', async (t) => {
  const vm = new VmFixture(t, { plan: ['exit:0:0.1', 'exit:0:0.1', 'exit:0:0.1', 'run'], config: { maxrestart: 2, maxrestarttime: 30 } });
  const api = await vm.spawn();
  await api.start();
  const failed = await vm.waitForState('failed', 12_000);
  assert.equal((await vm.events()).filter((event) => event.type === 'launch').length, 3, 'two restarts allowed, the third refused');
  assert.ok(failed.type === 'state' && /restarted too often.*maxrestart 2/.test(failed.failureReason ?? ''));
  const status = await api.status();
  assert.equal(status.state, 'failed');
  assert.equal(status.restarts, 2);
  assert.equal(status.pid, null);
  const reset = await api.failreset();
  assert.equal(reset.status.state, 'stopped');
  assert.equal(reset.status.restarts, 0);
  const again = await api.start();
  assert.equal(again.ok, true);
  assert.equal(again.status.restarts, 0);
});

test('restarts older than maxrestarttime leave the window', async (t) => {
  const vm = new VmFixture(t, { plan: ['exit:0:0.4', 'exit:0:0.4', 'exit:0:0.4', 'run'], config: { maxrestart: 1, maxrestarttime: 0.3 } });
  const api = await vm.spawn();
  await api.start();
  await vm.waitForState('running', 12_000, 4);
  const status = await api.status();
  assert.equal(status.state, 'running', 'one restart per window is allowed, and each came after the last left it');
  assert.equal((await vm.events()).filter((event) => event.type === 'launch').length, 4);
});

test('bhyve failing at launch (exit 4): counted restarts, then failed', async (t) => {
  const vm = new VmFixture(t, { plan: ['exit:4:0'], config: { maxrestart: 2 } });
  const api = await vm.spawn();
  await api.start();
  await vm.waitForState('failed', 12_000);
  const events = await vm.events();
  const exits = events.filter((event) => event.type === 'exit');
  assert.equal(exits.length, 3);
  for (const exit of exits) assert.deepEqual(exit.type === 'exit' && exit.exit, { code: 4, signal: null, meaning: 'error' });
  const restarting = events.filter((event) => event.type === 'state' && event.state === 'restarting');
  assert.deepEqual(restarting.map((event) => event.type === 'state' && event.reason), ['crash', 'crash', 'crash']);
  const status = await api.status();
  assert.equal(status.state, 'failed');
  assert.match(status.failureReason ?? '', /restarted too often: error would be restart 3/);
});

test('a bhyve that cannot be started at all fails the VM at once, with cleanup', async (t) => {
  const vm = new VmFixture(t, {
    bhyve: '/nonexistent/bhyve',
    hooks: { start_storage: recordingHook(), stop_storage: recordingHook(), stop_network: recordingHook() },
  });
  const api = await vm.spawn();
  const outcome = await api.start();
  assert.equal(outcome.ok, false);
  assert.equal(outcome.status.state, 'failed');
  assert.match(outcome.error ?? '', /bhyve cannot be launched: cannot launch \/nonexistent\/bhyve: .*ENOENT/);
  assert.deepEqual(vm.hooksRun(), ['start_storage', 'stop_storage', 'stop_network']);
});

test('a guest ignoring ACPI: SIGTERM, stoptimeout, bhyvectl --force-poweroff, stopped', async (t) => {
  const vm = new VmFixture(t, { plan: ['ignore-term'], config: { stoptimeout: 0.5 } });
  const api = await vm.spawn();
  await api.start();
  await vm.guestReady();
  const before = Date.now();
  const outcome = await api.stop();
  const elapsed = Date.now() - before;
  assert.equal(outcome.status.state, 'stopped');
  assert.ok(elapsed >= 500 && elapsed < 5_000, `stopped after ${elapsed} ms, before the SIGKILL step`);
  assert.deepEqual(vm.bhyvectlCalls(), ['--vm=web --destroy', '--vm=web --force-poweroff', '--vm=web --destroy']);
  assert.deepEqual(outcome.status.lastExit, { code: 1, signal: null, meaning: 'powered off' });
  const stopping = (await vm.events()).find((event) => event.type === 'state' && event.state === 'stopping');
  assert.ok(stopping?.type === 'state' && stopping.forceAt !== undefined, 'without a stopping hook, the entry event says when the force comes');
  const lead = Date.parse(stopping.forceAt) - Date.parse(stopping.time);
  assert.ok(lead >= 495 && lead <= 520, `forceAt is stoptimeout ahead (${lead} ms)`);
  const log = vm.logText();
  assert.match(log, /SIGTERM ignored by the guest/);
  assert.match(log, /guest did not power off within 0.5 s: forcing a power-off/);
});

test('a guest deaf to ACPI and to the forced power-off is killed 5 s later; the VM ends stopped', async (t) => {
  const vm = new VmFixture(t, { plan: ['deaf'], config: { stoptimeout: 0.3 } });
  const api = await vm.spawn();
  const pid = (await api.start()).status.pid as number;
  await vm.guestReady();
  const before = Date.now();
  const outcome = await api.stop();
  const elapsed = Date.now() - before;
  assert.equal(outcome.status.state, 'stopped');
  assert.ok(elapsed >= 5_300 && elapsed < 15_000, `stopped after ${elapsed} ms`);
  assert.deepEqual(outcome.status.lastExit, { code: null, signal: 'SIGKILL', meaning: 'killed by SIGKILL' });
  assert.equal(isAlive(pid), false);
  assert.match(vm.logText(), /still running 5 s after the forced power-off: sending SIGKILL/);
});
