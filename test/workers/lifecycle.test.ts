/** Every row of DESIGN.md section 3's table, driven through a real worker and a stand-in bhyve. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { STATUS_KEYS } from '../helpers/status-keys.js';
import { ALL_HOOKS, VmFixture, isAlive, recordingHook, until } from './harness.js';

const recordingHooks = Object.fromEntries(ALL_HOOKS.map((state) => [state, recordingHook()]));

test('start from stopped: start_network, start_storage, generated config, destroy, launch, running', async (t) => {
  const vm = new VmFixture(t, { hooks: recordingHooks });
  const api = await vm.spawn();
  const before = await api.status();
  assert.equal(before.state, 'stopped');
  assert.deepEqual(
    [before.name, before.configFile, before.autostart, before.workerPid],
    [vm.vm.name, vm.vm.file, vm.vm.autostart, vm.workerPid],
    'the status names the VM and its config file',
  );
  assert.deepEqual(Object.keys(before), [...STATUS_KEYS, 'logProblem']);
  const outcome = await api.start();
  assert.equal(outcome.ok, true);
  assert.equal(outcome.status.state, 'running');
  assert.deepEqual(await vm.states(), ['start_network', 'start_storage', 'running']);
  assert.deepEqual(vm.hooksRun(), ['start_network', 'start_storage', 'running']);
  const pid = outcome.status.pid;
  assert.ok(pid !== null && isAlive(pid));
  const generated = `${vm.vm.configfile}.generated`;
  assert.match(fs.readFileSync(generated, 'utf8'), /hostbridge=hostbridge\n[\s\S]*name=web\n$/);
  await until(() => /stand-in bhyve launch 1: -k \S+bhyve_config\.generated web/.test(vm.logText()), 5_000, 'bhyve output in the log');
  assert.ok(vm.logText().includes(`-k ${generated} web`));
  assert.deepEqual(vm.bhyvectlCalls(), ['--vm=web --destroy'], 'a stale vmm instance is destroyed before the cold start');
  const record = JSON.parse(fs.readFileSync(`${vm.rundir}/web.worker.json`, 'utf8'));
  assert.equal(record.bhyvePid, pid);
  assert.equal(record.workerPid, vm.workerPid);
  const launch = (await vm.events()).find((event) => event.type === 'launch');
  assert.equal(launch?.type === 'launch' && launch.pid, pid);
});

test('guest reboot (exit 0): restarting, destroy, relaunch, restarted, running; counted', async (t) => {
  const vm = new VmFixture(t, { plan: ['exit:0:0.2', 'run'], hooks: recordingHooks });
  const api = await vm.spawn();
  await api.start();
  await vm.waitForState('restarted', 10_000);
  await vm.waitForEvent((event) => event.type === 'state' && event.state === 'running' && event.reason === 'reboot', 10_000, 'running again');
  assert.deepEqual(await vm.states(), ['start_network', 'start_storage', 'running', 'restarting', 'restarted', 'running']);
  const status = await api.status();
  assert.equal(status.state, 'running');
  assert.equal(status.restarts, 1);
  assert.deepEqual(status.lastExit, { code: 0, signal: null, meaning: 'reboot' });
  assert.equal((await vm.events()).filter((event) => event.type === 'launch').length, 2);
  assert.equal(vm.bhyvectlCalls().length, 2, 'destroy before the cold start, and after the exit (before the relaunch)');
  const restarting = vm.hookLines().find((line) => line.startsWith('restarting'));
  assert.match(restarting ?? '', /reason=reboot .*exit=0 /);
});

test('guest crash (exit 3, then killed by a signal): restart with reason crash', async (t) => {
  const vm = new VmFixture(t, { plan: ['exit:3:0.1', 'kill:KILL:0.1', 'run'] });
  const api = await vm.spawn();
  await api.start();
  await vm.waitForState('running', 10_000, 3);
  const events = await vm.events();
  const exits = events.flatMap((event) => (event.type === 'exit' ? [event.exit] : []));
  assert.deepEqual(exits, [
    { code: 3, signal: null, meaning: 'triple fault' },
    { code: null, signal: 'SIGKILL', meaning: 'killed by SIGKILL' },
  ]);
  const restartReasons = events.flatMap((event) => (event.type === 'state' && event.state === 'restarting' ? [event.reason] : []));
  assert.deepEqual(restartReasons, ['crash', 'crash']);
  assert.equal((await api.status()).restarts, 2);
});

for (const [code, meaning] of [[1, 'powered off'], [2, 'halted']] as const) {
  test(`guest ${meaning} (exit ${code}): stopping, destroy, stop_storage, stop_network, stopped`, async (t) => {
    const vm = new VmFixture(t, { plan: [`exit:${code}:0.2`], hooks: recordingHooks });
    const api = await vm.spawn();
    await api.start();
    await vm.waitForEvent((event) => event.type === 'hook' && event.hook === 'stopped', 10_000, 'the stopped hook');
    assert.deepEqual(await vm.states(), ['start_network', 'start_storage', 'running', 'stopping', 'stop_storage', 'stop_network', 'stopped']);
    assert.deepEqual(vm.hooksRun(), ['start_network', 'start_storage', 'running', 'stopping', 'stop_storage', 'stop_network', 'stopped']);
    const status = await api.status();
    assert.deepEqual(status.lastExit, { code, signal: null, meaning });
    assert.equal(status.pid, null);
    assert.equal(vm.bhyvectlCalls().length, 2, 'destroyed after the final exit');
    assert.equal(vm.launches(), 1, 'no restart');
  });
}

test('stop command: stopping (with forceAt), SIGTERM, destroy, stop_storage, stop_network, stopped', async (t) => {
  const vm = new VmFixture(t, { hooks: recordingHooks, config: { stoptimeout: 5 } });
  const api = await vm.spawn();
  const { status } = await api.start();
  await vm.guestReady();
  const outcome = await api.stop();
  assert.equal(outcome.ok, true);
  assert.equal(outcome.status.state, 'stopped');
  assert.ok(!vm.bhyvectlCalls().some((call) => call.includes('--force-poweroff')), 'the guest powered off on SIGTERM, no escalation');
  assert.equal(isAlive(status.pid as number), false);
  assert.deepEqual(await vm.states(), ['start_network', 'start_storage', 'running', 'stopping', 'stop_storage', 'stop_network', 'stopped']);
  assert.deepEqual(vm.hooksRun().slice(3), ['stopping', 'stop_storage', 'stop_network', 'stopped']);
  const announced = (await vm.events()).find((event) => event.type === 'state' && event.state === 'stopping' && event.forceAt !== undefined);
  assert.ok(announced?.type === 'state' && announced.forceAt);
  const forceAt = Date.parse(announced.forceAt);
  assert.ok(forceAt - Date.parse(announced.time) >= 4_900 && forceAt - Date.parse(announced.time) <= 5_500, 'forceAt = now + stoptimeout');
  assert.match(vm.logText(), /ACPI power button: powering off/);
  assert.deepEqual(outcome.status.lastExit, { code: 1, signal: null, meaning: 'powered off' });
  assert.equal(vm.bhyvectlCalls().at(-1), '--vm=web --destroy');
  assert.equal(vm.hookLines().find((line) => line.startsWith('stopping'))?.includes('reason=stop '), true);
});

test('stop with reason shutdown reaches the hooks as VMSTATED_REASON=shutdown', async (t) => {
  const vm = new VmFixture(t, { hooks: recordingHooks });
  const api = await vm.spawn();
  await api.start();
  await vm.guestReady();
  await api.stop('shutdown');
  assert.match(vm.hookLines().find((line) => line.startsWith('stop_network')) ?? '', /reason=shutdown/);
});

test('restart command: restarting, graceful stop, relaunch, restarted, running; not counted', async (t) => {
  const vm = new VmFixture(t, { hooks: recordingHooks });
  const api = await vm.spawn();
  const first = (await api.start()).status.pid;
  await vm.guestReady();
  const outcome = await api.restart();
  assert.equal(outcome.ok, true);
  assert.equal(outcome.status.state, 'running');
  assert.notEqual(outcome.status.pid, first);
  assert.equal(isAlive(first as number), false);
  assert.equal(outcome.status.restarts, 0, 'a commanded restart is not counted');
  assert.deepEqual(await vm.states(), ['start_network', 'start_storage', 'running', 'restarting', 'restarted', 'running']);
  assert.deepEqual(vm.hooksRun().slice(3), ['restarting', 'restarted', 'running']);
  assert.match(vm.hookLines()[3], /reason=restart/);
});

test('failreset: only from failed; back to stopped with the restart history cleared', async (t) => {
  const vm = new VmFixture(t, { plan: ['exit:0:0.05'], config: { maxrestart: 1 } });
  const api = await vm.spawn();
  const refused = await api.failreset();
  assert.equal(refused.ok, false);
  assert.match(refused.error ?? '', /not failed/);
  await api.start();
  await vm.waitForState('failed', 10_000);
  const failed = await api.status();
  assert.equal(failed.restarts, 1);
  assert.match(failed.failureReason ?? '', /restarted too often/);
  const startRefused = await api.start();
  assert.equal(startRefused.ok, false);
  assert.match(startRefused.error ?? '', /failreset/);
  const reset = await api.failreset();
  assert.equal(reset.ok, true);
  assert.equal(reset.status.state, 'stopped');
  assert.equal(reset.status.restarts, 0);
  assert.equal(reset.status.failureReason, null);
});

test('a stop sent during a start waits for the start to finish, then stops', async (t) => {
  const vm = new VmFixture(t, { hooks: { start_storage: recordingHook('sleep 0.4') } });
  const api = await vm.spawn();
  const start = api.start();
  await vm.waitForState('start_storage', 6_000);
  const status = await api.status(); // answers at once, while the hook runs
  assert.equal(status.state, 'start_storage');
  const stop = api.stop();
  const [started, stopped] = await Promise.all([start, stop]);
  assert.equal(started.ok, true);
  assert.equal(started.status.state, 'running');
  assert.equal(stopped.status.state, 'stopped');
  assert.deepEqual(await vm.states(), ['start_network', 'start_storage', 'running', 'stopping', 'stop_storage', 'stop_network', 'stopped']);
});

test('release: refused while bhyve runs; at rest accepted, the worker finishes the hook, exits, removes its files', async (t) => {
  const vm = new VmFixture(t, { hooks: { stopped: recordingHook('sleep 0.5; echo "stopped hook done"') } });
  const api = await vm.spawn();
  await api.start();
  assert.equal(await api.release(), false);
  await vm.guestReady();
  const stopping = api.stop();
  await vm.waitForState('stopped', 6_000);
  assert.equal(await api.release(), true, 'accepted while the stopped hook runs');
  const refused = await api.start();
  assert.equal(refused.ok, false);
  assert.match(refused.error ?? '', /exiting/);
  assert.equal((await stopping).status.state, 'stopped');
  await until(() => !isAlive(vm.workerPid as number), 6_000, 'the worker to exit');
  assert.match(vm.logText(), /hook stopped\/stdout: stopped hook done\n.*hook stopped succeeded[^\n]*\n.*released \(VM stopped\)\n$/);
  assert.deepEqual(fs.readdirSync(vm.rundir), []);
});
