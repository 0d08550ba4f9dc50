/** The settle time in a real worker: a relaunch that dies at once is an ordinary exit; a cold start's is a failed start. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VmFixture } from './harness.js';

test('an automatic relaunch that exits within the settle time is handled as any exit (counted, restarted); running waits for it', async (t) => {
  const vm = new VmFixture(t, { plan: ['exit:0:1.5', 'exit:3:0', 'run'], config: { settletime: 1, maxrestart: 3 } });
  const api = await vm.spawn();
  const started = await api.start();
  assert.equal(started.ok, true, started.error);
  await vm.waitForState('running', 15_000, 2);
  assert.deepEqual(await vm.states(), ['start_network', 'start_storage', 'running', 'restarting', 'restarted', 'restarting', 'restarted', 'running']);
  const restarting = (await vm.events()).filter((event) => event.type === 'state' && event.state === 'restarting');
  assert.deepEqual(restarting.map((event) => event.type === 'state' && event.reason), ['reboot', 'crash']);
  const status = await api.status();
  assert.deepEqual([status.state, status.restarts, vm.launches()], ['running', 2, 3]);
});

test('a cold start whose bhyve exits within the settle time fails at once, with its last stderr lines in the outcome', async (t) => {
  const vm = new VmFixture(t, { plan: ['exit:4:0'], config: { settletime: 2 } });
  const api = await vm.spawn();
  const outcome = await api.start();
  assert.equal(outcome.ok, false);
  assert.match(outcome.error ?? '', /^start failed: bhyve exited with status 4 \(error\) \d+\.\d s after its launch, within the settle time of 2 s: plan exit:4:0$/);
  assert.deepEqual(outcome.bhyveStderr, ['plan exit:4:0']);
  assert.deepEqual([outcome.status.state, vm.launches()], ['failed', 1]);
});
