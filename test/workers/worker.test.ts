/** The worker process: independence of VMs, adoption, signals, spawnWorker's failures. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { lockHolder } from '../../src/shared/file-lock.js';
import { parseWorkerRecord } from '../../workers/records.js';
import { waitFor } from '../helpers/vmstated-env.js';
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

test('a run taken over after its worker was SIGKILLed ends with its real exit status: a power-off stops the VM', async (t) => {
  const vm = new VmFixture(t, { hooks: { stop_network: recordingHook() } });
  const api = await vm.spawn();
  const { status } = await api.start();
  await vm.guestReady();
  const bhyvePid = status.pid as number;
  const { run } = parseWorkerRecord(fs.readFileSync(`${vm.rundir}/web.worker.json`, 'utf8'))!;
  assert.equal(run?.bhyvePid, bhyvePid);
  process.kill(vm.workerPid as number, 'SIGKILL');
  await until(() => !isAlive(vm.workerPid as number), 5_000, 'the worker to die');
  // Its main thread shows as a zombie while its other threads may still hold its files (the lock) open.
  await waitFor('the dead worker\'s lock to be free', async () => ((await lockHolder(`${vm.rundir}/web.worker.lock`)) === undefined ? true : undefined), 5_000);
  vm.connection?.close();

  const adopted = await vm.spawn({ adopt: run!, restartHistory: [Date.now() - 1_000] });
  const taken = await adopted.status();
  assert.deepEqual([taken.state, taken.pid, taken.restarts], ['running', bhyvePid, 1], 'the same bhyve, the restart history carried over');
  process.kill(bhyvePid, 'SIGTERM'); // the ACPI power button: the stand-in guest powers off (exit 1)
  await vm.waitForState('stopped', 10_000);
  const exit = (await vm.events()).find((event) => event.type === 'exit');
  assert.ok(exit?.type === 'exit');
  assert.deepEqual([exit.pid, exit.exit.code, exit.exit.meaning], [bhyvePid, 1, 'powered off']);
  assert.match(vm.hookLines().join('\n'), /^stop_network reason=stop /m, 'as for its own child: the stop hooks ran');
  assert.match(vm.logText(), /stdout: ACPI power button: powering off/, "bhyve's last words are in the log");
});

test('a worker killed by SIGKILL does not take its VM along: bhyve prints on, into its output file', async (t) => {
  const vm = new VmFixture(t);
  // A guest console that never stops printing: it must neither die nor block with nobody reading.
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
  assert.ok(isAlive(bhyvePid), 'bhyve is still running after printing with no worker there');
  const beaten = beats() / 'beat\n'.length; // each beat follows its console line
  const printed = fs.readFileSync(path.join(vm.rundir, 'web.bhyve.out'), 'utf8').split('\n').filter((line) => line === 'console tick').length;
  assert.ok(printed >= beaten, `what it printed meanwhile waits in its file for the next worker (${printed} lines, ${beaten} beats)`);
});

test('one worker per VM: a second one started beside it exits at once, touching nothing; bhyve inherits no descriptor of the worker', async (t) => {
  const vm = new VmFixture(t);
  const inspecting = vm.script('inspecting-bhyve', `#!/bin/sh
echo "$$" >> "${vm.root}/bhyve.pids"
for fd in /proc/$$/fd/*; do echo "fd $(basename "$fd") $(readlink "$fd")"; done
trap 'exit 1' TERM
echo "guest ready"
while :; do sleep 0.05; done
`);
  const api = await vm.spawn({ bhyve: inspecting });
  await api.start();
  await vm.guestReady();
  const fds = new Map([...vm.logText().matchAll(/stdout: fd (\d+) (.*)$/gm)].map(([, fd, target]) => [Number(fd), target!]));
  assert.deepEqual([0, 1, 2].map((fd) => fds.get(fd)), ['web.keeper', 'web.bhyve.out', 'web.bhyve.err'].map((file) => path.join(vm.rundir, file)));
  for (const [fd, target] of fds) {
    // Beyond 0-2: the stand-in shell's own script, or what the test process itself inherited.
    if (fd <= 2 || target === inspecting) continue;
    assert.ok(!target.includes(vm.root) && !target.startsWith('socket:'), `bhyve inherited fd ${fd} (${target}): the lock, a socket or a log of the worker`);
  }

  // Every file as it was (the record excepted: its own worker rewrites it as bhyve's output is consumed).
  const listing = (): string[] =>
    fs.readdirSync(vm.rundir).map((file) => {
      const stat = fs.statSync(path.join(vm.rundir, file));
      return file === 'web.worker.json' ? file : `${file} ${stat.ino} ${stat.mtimeMs}`;
    }).sort();
  const before = listing();
  const specCopy = path.join(vm.root, 'second.spec.json');
  fs.writeFileSync(specCopy, JSON.stringify(vm.spec({ bhyve: inspecting })));
  const second = spawnSync(process.execPath, [fileURLToPath(new URL('../../workers/worker.cjs', import.meta.url)), specCopy], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(second.status, 1);
  assert.match(second.stderr, new RegExp(`a worker for web is already running \\(pid ${vm.workerPid}, holds .*web\\.worker\\.lock\\); this one exits without touching anything`));
  assert.deepEqual(listing(), before, 'not a file of the running worker was touched');
  assert.equal(parseWorkerRecord(fs.readFileSync(path.join(vm.rundir, 'web.worker.json'), 'utf8'))?.workerPid, vm.workerPid);
  assert.equal((await api.status()).state, 'running', 'the first worker serves on');
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
