/** The worker process: independence of VMs, adoption, signals, spawnWorker's failures. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { spawnWorker } from '../../workers/spawn.js';
import { VmFixture, isAlive, recordingHook, until } from './harness.js';

test('two workers: one stuck in a hung hook, the other starts and stops normally meanwhile', async (t) => {
  const stuck = new VmFixture(t, { name: 'stuck', hooks: { start_network: recordingHook('sleep 30') }, config: { hooktimeout: 4 } });
  const free = new VmFixture(t, { name: 'free' });
  const stuckApi = await stuck.spawn();
  const freeApi = await free.spawn();
  const stuckStart = stuckApi.start();
  await stuck.waitForState('start_network', 6_000);

  const status = await stuckApi.status();
  assert.equal(status.state, 'start_network', 'status() answers while the hook runs');

  const started = await freeApi.start();
  await free.guestReady();
  const stopped = await freeApi.stop();
  assert.equal(started.status.state, 'running');
  assert.equal(stopped.status.state, 'stopped');
  assert.equal((await stuckApi.status()).state, 'start_network', 'the other VM was done while this hook still ran');

  const outcome = await stuckStart;
  assert.equal(outcome.status.state, 'failed');
  assert.match(outcome.status.failureReason ?? '', /timed out after 4 s/);
});

test('adoptPid: a bhyve handed over is watched; its exit is a crash with unknown status, then restarted', async (t) => {
  const vm = new VmFixture(t);
  const orphan = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  orphan.unref();
  const orphanPid = orphan.pid as number;
  fs.writeFileSync(`${vm.root}/stray.pids`, `${orphanPid}\n`);
  const api = await vm.spawn({ adoptPid: orphanPid, restartHistory: [Date.now() - 1_000] });
  const status = await api.status();
  assert.equal(status.state, 'running');
  assert.equal(status.pid, orphanPid);
  assert.equal(status.restarts, 1, 'the restart history is carried over');
  const record = JSON.parse(fs.readFileSync(`${vm.rundir}/web.worker.json`, 'utf8'));
  assert.equal(record.bhyvePid, orphanPid);

  process.kill(orphanPid, 'SIGKILL');
  await vm.waitForState('running', 10_000);
  const events = await vm.events();
  const exit = events.find((event) => event.type === 'exit');
  assert.ok(exit?.type === 'exit');
  assert.equal(exit.pid, orphanPid);
  assert.deepEqual([exit.exit.code, exit.exit.signal], [null, null]);
  assert.match(exit.exit.meaning, /unknown/);
  const restarting = events.find((event) => event.type === 'state' && event.state === 'restarting');
  assert.equal(restarting?.type === 'state' && restarting.reason, 'crash');
  assert.equal((await api.status()).restarts, 2);
});

test('a worker killed by SIGKILL does not take its VM along: bhyve writing to the dead pipe runs on', async (t) => {
  const vm = new VmFixture(t);
  // A guest console that never stops printing: without SIGPIPE ignored it would die at the next line.
  const chatty = vm.script('chatty-bhyve', `#!/bin/sh
echo "$$" >> "${vm.root}/bhyve.pids"
while :; do echo "console tick"; echo beat >> "${vm.root}/beats"; sleep 0.05; done
`);
  const api = await vm.spawn({ bhyve: chatty });
  const { status } = await api.start();
  assert.equal(status.state, 'running');
  const bhyvePid = status.pid as number;
  const beats = (): number => (fs.existsSync(`${vm.root}/beats`) ? fs.readFileSync(`${vm.root}/beats`, 'utf8').length : 0);

  process.kill(vm.workerPid as number, 'SIGKILL');
  await until(() => !isAlive(vm.workerPid as number), 5_000, 'the worker to die');
  const beatsAtDeath = beats();
  await until(() => beats() >= beatsAtDeath + 10 * 'beat\n'.length, 10_000, 'bhyve to write ten more console lines');
  assert.ok(isAlive(bhyvePid), 'bhyve is still running after writing to a pipe nobody reads');
});

test('SIGTERM to a worker stops its VM (reason shutdown), then it exits and removes its files', async (t) => {
  const vm = new VmFixture(t, { hooks: { stop_network: recordingHook() } });
  const api = await vm.spawn();
  const pid = (await api.start()).status.pid as number;
  await vm.guestReady();
  process.kill(vm.workerPid as number, 'SIGTERM');
  await until(() => !isAlive(vm.workerPid as number), 5_000, 'the worker to exit');
  assert.equal(isAlive(pid), false);
  assert.match(vm.hookLines()[0], /^stop_network reason=shutdown/);
  assert.deepEqual(fs.readdirSync(vm.rundir), []);
});

test('spawnWorker: a second worker for a live one is refused; a bad spec fails with a message', async (t) => {
  const vm = new VmFixture(t);
  await vm.spawn();
  await assert.rejects(spawnWorker(vm.spec()), /a worker for web is already running \(pid \d+/);
  assert.equal((await vm.api.status()).workerPid, vm.workerPid, 'the first worker still serves');
  const bad = { ...vm.spec(), bhyve: '' };
  await assert.rejects(spawnWorker({ ...bad, vm: { ...bad.vm, name: 'other' } }), /ended at startup .*not a worker spec/);
});

test('updateConfig: applies at once when stopped; while running it waits for the next start', async (t) => {
  const vm = new VmFixture(t);
  const api = await vm.spawn();
  await api.updateConfig({ ...vm.vm, description: 'first' });
  assert.equal((await api.status()).description, 'first');
  assert.equal((await api.status()).configPending, false);
  await api.start();
  await api.updateConfig({ ...vm.vm, description: 'first' });
  assert.equal((await api.status()).configPending, false, 'the config it runs with again is no change (a re-attaching registry sends it)');
  await api.updateConfig({ ...vm.vm, description: 'second' });
  const running = await api.status();
  assert.equal(running.description, 'first');
  assert.equal(running.configPending, true);
  await vm.guestReady();
  await api.stop();
  const started = await api.start();
  assert.equal(started.status.description, 'second');
  assert.equal(started.status.configPending, false);
});
