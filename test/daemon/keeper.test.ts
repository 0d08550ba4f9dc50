/**
 * bhyve's keeper through the real daemon and the simulator: a guest's power-off, halt, reboot,
 * triple fault or emulation abort ends the same whether its worker lived, was SIGKILLed and
 * replaced, or was gone (with the daemon) when it happened; bhyve's output meanwhile reaches the
 * VM log; re-attach trusts no pid a record names; one VM never gets two workers, one run
 * directory never two daemons.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sendControl, type ControlRequest } from '../../src/bhyvesim/control.js';
import { controlSocketPath } from '../../src/bhyvesim/paths.js';
import type { VmStatus } from '../../src/protocol/types.js';
import { isProcessAlive } from '../../src/shared/process.js';
import { readProcess, readProcessTable } from '../../src/shared/process-table.js';
import { createVmstatedEnv, killAndWait, waitFor, type VmstatedEnv } from '../helpers/vmstated-env.js';
import { bhyvesByVm } from '../faults/cluster.js';

const ACTIONS = ['poweroff', 'halt', 'reboot', 'triplefault', 'abort'] as const;
/** Every hook of the exit's sequence records itself: state, reason, bhyve's exit code. */
const RECORDING_HOOK = 'echo "$VMSTATED_STATE $VMSTATED_REASON ${VMSTATED_EXIT:-none}" >> "$VMSTATED_CONFIGDIR/hooks.log"';
const HOOKS = Object.fromEntries(['restarting', 'restarted', 'stopping', 'stop_storage', 'stop_network', 'stopped', 'failed'].map((state) => [state, RECORDING_HOOK]));

async function control(env: VmstatedEnv, vm: string, request: ControlRequest): Promise<void> {
  const reply = await sendControl(controlSocketPath(env.simdir, vm), request);
  assert.ok(typeof reply === 'object' && reply.ok, `${vm} ${JSON.stringify(request)}: ${JSON.stringify(reply)}`);
}

function bootedAll(env: VmstatedEnv, names: readonly string[]): Promise<true> {
  return waitFor('every guest to boot', () => (names.every((vm) => /guest running/.test(env.vmLog(vm))) ? true : undefined));
}

/** How a VM ended up: what the issue asks to be the same with and without the kill. */
async function outcome(env: VmstatedEnv, vm: string): Promise<unknown> {
  const { state, lastExit, restarts } = await env.status(vm);
  const hooks = fs.readFileSync(path.join(env.configdir, vm, 'hooks.log'), 'utf8');
  return { state, lastExit, restarts, hooks };
}

test('power-off, halt, reboot, triple fault and abort end the same for a worker\'s own bhyve, a bhyve taken over after a worker SIGKILL, and one that ended while no worker or daemon lived', { timeout: 120_000 }, async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  const groups = { own: 'o', takenOver: 't', unwatched: 'u' };
  const vmsOf = (group: string): string[] => ACTIONS.map((action) => `${group}-${action}`);
  const all = Object.values(groups).flatMap(vmsOf);
  for (const vm of all) env.writeVm(vm, { maxrestart: 5 }, { hooks: HOOKS });
  const daemon = await env.startDaemon();
  const client = await env.client();
  await Promise.all(all.map((vm) => client.request('start', { vm }, { timeoutMs: 60_000 })));
  client.close();
  await bootedAll(env, all);

  // Taken over: the worker dies under the running daemon, which hands the run to a new worker.
  await Promise.all(vmsOf(groups.takenOver).map(async (vm) => {
    const before = await env.status(vm);
    await killAndWait(before.workerPid!);
    const after = await env.waitForStatus(vm, (s) => s.workerPid !== null && s.workerPid !== before.workerPid);
    assert.deepEqual([after.state, after.pid], ['running', before.pid], `${vm}: the same bhyve, taken over`);
  }));
  // Unwatched: the daemon and these workers die; the guests print, then act, with nobody there.
  const unwatched = await Promise.all(vmsOf(groups.unwatched).map((vm) => env.status(vm)));
  await killAndWait(daemon);
  await Promise.all(unwatched.map((status) => killAndWait(status.workerPid!)));
  // bhyve's own diagnostics (stderr) meanwhile; its console is on com1's nmdm device, the console's business.
  await Promise.all(unwatched.map(({ name }) => control(env, name, { op: 'guest', action: 'honour-acpi' })));
  await Promise.all(ACTIONS.flatMap((action) => Object.values(groups).map((group) => control(env, `${group}-${action}`, { op: 'guest', action }))));
  for (const { name } of unwatched) {
    const exitFile = path.join(env.rundir, `${name}.bhyve.exit`);
    await waitFor(`the keeper of ${name} to record bhyve's exit`, () => (fs.existsSync(exitFile) ? true : undefined));
  }

  await env.startDaemon();
  for (const [index, action] of ACTIONS.entries()) {
    const stops = action === 'poweroff' || action === 'halt';
    const settled = (s: VmStatus): boolean => (stops ? s.state === 'stopped' : s.state === 'running' && s.restarts === 1);
    const [own, takenOver, ended] = await Promise.all(Object.values(groups).map(async (group) => {
      await env.waitForStatus(`${group}-${action}`, settled, 20_000);
      return outcome(env, `${group}-${action}`);
    }));
    assert.deepEqual(takenOver, own, `${action}: taken over after a worker SIGKILL, as for the worker's own bhyve`);
    assert.deepEqual(ended, own, `${action}: ended while no worker lived, as for the worker's own bhyve`);
    const { name: unwatchedVm, pid } = unwatched[index]!;
    for (const words of ['the guest now honours the ACPI power button', '(exit|SIGABRT)']) {
      assert.match(env.vmLog(unwatchedVm), new RegExp(`bhyve\\[${pid}\\]/stderr: bhyve-sim: ${unwatchedVm}: .*${words}`), 'what bhyve wrote while no worker lived');
    }
  }
  // What the worker's own bhyve gives, for the record: the exit table of vmstated(8).
  const expected = {
    poweroff: ['stopped', 1, 0, 'stopping stop 1'],
    halt: ['stopped', 2, 0, 'stopping stop 2'],
    reboot: ['running', 0, 1, 'restarting reboot 0'],
    triplefault: ['running', 3, 1, 'restarting crash 3'],
    abort: ['running', null, 1, 'restarting crash none'],
  };
  for (const action of ACTIONS) {
    const { state, lastExit, restarts, hooks } = (await outcome(env, `${groups.own}-${action}`)) as VmStatus & { hooks: string };
    const [wantState, wantCode, wantRestarts, firstHook] = expected[action];
    assert.deepEqual([state, lastExit?.code, restarts, hooks.split('\n')[0]], [wantState, wantCode, wantRestarts, firstHook], action);
  }
});

test('re-attach does not take over a record naming an unrelated process, and stop leaves that process alone', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  const sleeper = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  const pid = sleeper.pid!;
  fs.mkdirSync(env.rundir);
  const run = { bhyvePid: pid, bhyveStartedAt: null, keeperPid: pid, keeperStartedAt: null, argv: [], output: { stdout: 0, stderr: 0 } };
  const record = { vm: 'web', workerPid: process.pid, bhyvePid: pid, run, socket: path.join(env.rundir, 'web.sock'), startedAt: '' };
  fs.writeFileSync(path.join(env.rundir, 'web.worker.json'), JSON.stringify(record));

  await env.startDaemon();
  const status = await env.status('web');
  assert.deepEqual([status.state, status.pid, status.workerPid], ['stopped', null, null]);
  assert.match(env.daemonLog(), /removed a stale worker record/);
  assert.match(env.vmLog('web'), new RegExp(`the worker record was stale, nothing taken over: .*pid ${pid} is "sleep 60"`));
  const client = await env.client();
  const { status: stopped } = await client.request<{ status: VmStatus }>('stop', { vm: 'web' });
  client.close();
  assert.equal(stopped.state, 'stopped');
  assert.equal(isProcessAlive(pid), true, 'the unrelated process was not signalled');
});

test('re-attach: a live worker whose socket was removed is reached again, not doubled; a failed take-over is retried by stop; a second daemon on the same run directory is refused', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  env.writeVm('orphan');
  const daemon = await env.startDaemon();
  const client = await env.client();
  const [web, orphan] = await Promise.all(['web', 'orphan'].map(async (vm) => (await client.request<{ status: VmStatus }>('start', { vm })).status));
  client.close();
  await bootedAll(env, ['web', 'orphan']);

  const other = await env.runVmstated(['-s', path.join(env.dir, 'other.sock'), '-p', path.join(env.dir, 'other.pid')]);
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, new RegExp(`another vmstated \\(pid ${daemon}\\) already uses the run directory ${env.rundir}`));
  assert.equal(fs.existsSync(path.join(env.dir, 'other.sock')), false, 'the refused daemon did not serve');

  fs.rmSync(path.join(env.rundir, 'web.sock'));
  await killAndWait(daemon);
  await killAndWait(orphan!.workerPid!);
  const spec = path.join(env.rundir, 'orphan.spec.json');
  fs.rmSync(spec);
  fs.mkdirSync(spec); // the spec of orphan's next worker cannot be written: the take-over fails
  await env.startDaemon();

  const attached = await env.status('web');
  assert.deepEqual([attached.state, attached.pid, attached.workerPid], ['running', web!.pid, web!.workerPid], 'the same worker, reached again');
  assert.deepEqual(bhyvesByVm(env).get('web'), [web!.pid], 'still one bhyve');
  assert.match(env.vmLog('web'), /control socket .* was removed or replaced: listening on it again/);
  assert.equal(env.vmLog('web').match(/launched bhyve pid/g)?.length, 1);

  const failed = await env.status('orphan');
  assert.deepEqual([failed.state, failed.pid], ['failed', orphan!.pid]);
  assert.match(failed.failureReason ?? '', /runs without a worker and could not be taken over \(vmstatedctl stop tries again\)/);
  const admin = await env.client();
  await assert.rejects(admin.request('failreset', { vm: 'orphan' }), /still runs without a worker; stop it first/);
  fs.rmdirSync(spec);
  const { status: stopped } = await admin.request<{ status: VmStatus }>('stop', { vm: 'orphan' });
  admin.close();
  assert.deepEqual([stopped.state, stopped.pid], ['stopped', null]);
  await waitFor('the orphaned bhyve to be gone', () => (isProcessAlive(orphan!.pid!) ? undefined : true));
});

test('a keeper killed by SIGKILL: bhyve is watched by its pid, and its end, status unknown, counts as a crash; its worker alive or not', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  for (const vm of ['kept', 'alone']) env.writeVm(vm, { maxrestart: 5 });
  await env.startDaemon();
  const client = await env.client();
  const started = await Promise.all(['kept', 'alone'].map(async (vm) => (await client.request<{ status: VmStatus }>('start', { vm })).status));
  client.close();
  await bootedAll(env, ['kept', 'alone']);
  for (const { pid } of started) await killAndWait((await readProcess(pid!))!.ppid); // bhyve's keeper
  await killAndWait(started[1]!.workerPid!);
  const alone = await env.waitForStatus('alone', (s) => s.workerPid !== null && s.workerPid !== started[1]!.workerPid);
  assert.deepEqual([alone.state, alone.pid], ['running', started[1]!.pid], 'taken over without its keeper');

  for (const { name } of started) await control(env, name, { op: 'guest', action: 'poweroff' });
  for (const { name, pid } of started) {
    const after = await env.waitForStatus(name, (s) => s.state === 'running' && s.restarts === 1 && s.pid !== pid);
    assert.deepEqual([after.lastExit?.code, after.lastExit?.meaning], [null, "exit status unknown (bhyve's keeper was gone)"], name);
    assert.match(env.vmLog(name), /keeper .*(killed by SIGKILL|is gone) without recording how bhyve ended/, `${name}: the VM log says why`);
  }
});


test('a bhyve that never names itself (a stand-in script, run by sh) is known by its command line: its keeper SIGKILLed, it is watched by its pid, never launched twice', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  const standIn = path.join(env.dir, 'bhyve-stand-in');
  fs.writeFileSync(standIn, '#!/bin/sh\ntrap "exit 1" TERM\nwhile :; do sleep 0.1; done\n', { mode: 0o755 });
  env.writeVm('web');
  await env.startDaemon(['--bhyve', standIn]);
  const client = await env.client();
  t.after(() => client.close());
  const { status } = await client.request<{ status: VmStatus }>('start', { vm: 'web' });
  const bhyve = (await readProcess(status.pid!))!;
  assert.match(bhyve.args, /^\/bin\/sh \S+bhyve-stand-in -k \S+ web$/, 'no title: ps shows the interpreter, then the command line');

  await killAndWait(bhyve.ppid); // bhyve's keeper
  await waitFor('the worker to watch bhyve by its pid', () => (/bhyve pid \d+ runs on without its keeper; watching it by its pid/.test(env.vmLog('web')) ? true : undefined));
  const watched = await env.status('web');
  assert.deepEqual([watched.state, watched.pid, watched.restarts], ['running', status.pid, 0], 'the same bhyve, not a crash');
  const running = (await readProcessTable()).filter((entry) => entry.args.startsWith(`/bin/sh ${standIn} -k `));
  assert.deepEqual(running.map((entry) => entry.pid), [status.pid], 'one bhyve for web');

  const { status: stopped } = await client.request<{ status: VmStatus }>('stop', { vm: 'web' });
  assert.equal(stopped.state, 'stopped');
  assert.equal(isProcessAlive(status.pid!), false, 'stop ended it');
});
