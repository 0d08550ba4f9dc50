/**
 * Real bhyve's early exits, through the real daemon, vmstatedctl and the simulator: a start whose
 * bhyve dies within the settle time fails with bhyve's own words, launched once; a VM without a
 * boot ROM never launches; exit 1 after `vm_run error` is a crash; a same-named bhyve that vmstated
 * did not start is never destroyed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readVmmRecord } from '../../src/bhyvesim/record.js';
import { isProcessAlive } from '../../src/shared/process.js';
import { readProcess } from '../../src/shared/process-table.js';
import { BHYVE_SIM_BIN, BHYVECTL_SIM_BIN } from '../helpers/paths.js';
import { runNode } from '../helpers/run.js';
import { createVmstatedEnv, waitFor, type VmstatedEnv } from '../helpers/vmstated-env.js';
import { ctl, ctlStatus } from './ctl.js';

const MISSING_DISK = ['Could not open backing file: No such file or directory', 'Device emulation initialization error: No such file or directory'];

function launches(env: VmstatedEnv, vm: string): number {
  return env.vmLog(vm).split('\n').filter((line) => line.includes('vmstated: launched bhyve pid')).length;
}

/** Hooks that append their state to `<vmdir>/hooks.ran`. */
function recordingHooks(...states: string[]): Record<string, string> {
  return Object.fromEntries(states.map((state) => [state, `echo ${state} >> "$VMSTATED_CONFIGDIR/hooks.ran"`]));
}

function hooksRan(env: VmstatedEnv, vm: string): string[] {
  const file = path.join(env.configdir, vm, 'hooks.ran');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
}

const HOOKS = recordingHooks('start_network', 'start_storage', 'running', 'restarted', 'stop_storage', 'stop_network', 'failed');

test('a bhyve that exits within the settle time fails its start (or restart) with its own words, launched once', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('disk', { settletime: '3s' }, { hooks: HOOKS, bhyveLines: [`sim.fail=${MISSING_DISK.join('\\n')}`] });
  env.writeVm('off', { settletime: '3s' }, { bhyveLines: ['sim.guest=poweroff'] });
  env.writeVm('edited', { settletime: '2s' }, { hooks: HOOKS });
  await env.startDaemon();

  const [disk, off] = await Promise.all([ctl(env, 'start', 'disk'), ctl(env, 'start', 'off')]);
  assert.equal(disk.status, 1, disk.stderr);
  const lines = disk.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /^vmstatedctl: disk: start failed: bhyve exited with status 4 \(error\) \d+\.\d s after its launch, within the settle time of 3 s: Device emulation initialization error: No such file or directory$/);
  assert.equal(lines[1], "vmstatedctl: disk: bhyve's last lines on stderr:");
  assert.deepEqual(lines.slice(-2), MISSING_DISK.map((line) => `  ${line}`), disk.stderr);
  const status = await ctlStatus(env, 'disk');
  assert.deepEqual([status.state, status.lastExit?.code, status.pid], ['failed', 4, null]);
  assert.match(status.failureReason ?? '', /^start failed: bhyve exited with status 4/);
  assert.equal(launches(env, 'disk'), 1, 'launched once, not relaunched as a crash');
  assert.deepEqual(hooksRan(env, 'disk'), ['start_network', 'start_storage', 'stop_storage', 'stop_network', 'failed']);

  // An exit 1 at once (a usage error, a guest that powers off at once) is a failed start too, not "stopped".
  assert.equal(off.status, 1, off.stderr);
  assert.match(off.stderr, /^vmstatedctl: off: start failed: bhyve exited with status 1 \(powered off\)/);
  assert.equal((await ctlStatus(env, 'off')).state, 'failed');

  // A requested restart whose new bhyve dies at once fails the same way (the bhyve file is read at each launch).
  assert.equal((await ctl(env, 'start', 'edited')).status, 0);
  fs.appendFileSync(path.join(env.configdir, 'edited', 'bhyve_config'), `sim.fail=${MISSING_DISK[0]}\n`);
  const restart = await ctl(env, 'restart', 'edited');
  assert.equal(restart.status, 1, restart.stderr);
  assert.match(restart.stderr, /^vmstatedctl: edited: restart failed: bhyve exited with status 4 \(error\).*: Could not open backing file: No such file or directory$/m);
  assert.equal((await ctlStatus(env, 'edited')).state, 'failed');
  assert.equal(launches(env, 'edited'), 2);
  assert.deepEqual(hooksRan(env, 'edited'), ['start_network', 'start_storage', 'running', 'restarted', 'stop_storage', 'stop_network', 'failed']);
});

test('a VM without a boot ROM, or whose ROM does not exist, is a config error and never launches', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('bare', {}, { noBootrom: true });
  env.writeVm('typo', { bootrom: path.join(env.dir, 'BHYVE_UEFI.fd') }, { noBootrom: true });
  env.writeVm('good');

  const check = await env.runVmstated(['-n']);
  assert.equal(check.status, 1);
  const bareConfig = path.join(env.configdir, 'bare', 'config');
  assert.match(check.stderr, new RegExp(`^${bareConfig}:1:1: error: VM bare has no boot ROM: bhyve would exit 4 \\("virtual machine cannot be booted"\\); install the firmware \\(pkg install edk2-bhyve\\) and set  bootrom = /usr/local/share/uefi-firmware/BHYVE_UEFI.fd;`, 'm'));
  assert.match(check.stderr, new RegExp(`^${path.join(env.configdir, 'typo', 'config')}:\\d+:\\d+: error: boot ROM ${path.join(env.dir, 'BHYVE_UEFI.fd')} does not exist`, 'm'));
  assert.match(check.stdout, /1 VM ok, 2 rejected; 2 errors/);

  await env.startDaemon();
  const status = await ctl(env, 'status');
  assert.match(status.stdout + status.stderr, /VM bare has no boot ROM/);
  for (const vm of ['bare', 'typo']) {
    const start = await ctl(env, 'start', vm);
    assert.notEqual(start.status, 0, `start ${vm} is refused`);
  }
  assert.equal((await ctl(env, 'start', 'good')).status, 0);
  assert.deepEqual([launches(env, 'bare'), launches(env, 'typo')], [0, 0]);
  assert.deepEqual([readVmmRecord('bare', env.simdir), readVmmRecord('typo', env.simdir)], [null, null], 'no instance was ever created');
});

test('exit 1 after "vm_run error" is a crash: counted and restarted, not a power-off', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web', { settletime: '200ms' });
  await env.startDaemon();
  assert.equal((await ctl(env, 'start', 'web')).status, 0);
  const first = await ctlStatus(env, 'web');
  const told = await runNode(BHYVECTL_SIM_BIN, ['--vm=web', '--sim-guest=vm_run_error'], { env: env.env });
  assert.equal(told.status, 0, told.stderr);
  const after = await env.waitForStatus('web', (s) => s.state === 'running' && s.restarts === 1);
  assert.notEqual(after.pid, first.pid);
  assert.deepEqual(after.lastExit, { code: 1, signal: null, meaning: 'vm_run error (exit 1)' });
  assert.match(env.vmLog('web'), /state running -> restarting \(reason crash\)/);
});

test('a bhyve of the same name that vmstated did not start is never destroyed: the start fails naming its pid', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  const vmdir = env.writeVm('web', {}, { hooks: HOOKS });
  // The simulator started by hand, on the same (simulated) kernel: a VM web that vmstated did not start.
  const byHand = spawn(process.execPath, [BHYVE_SIM_BIN, '-k', path.join(vmdir, 'bhyve_config'), 'web'], { env: env.env, stdio: 'ignore' });
  await waitFor('the hand-started bhyve to call itself "bhyve: web"', async () => ((await readProcess(byHand.pid!))?.args.startsWith('bhyve: web (') ? true : undefined));
  await env.startDaemon();

  const start = await ctl(env, 'start', 'web');
  assert.equal(start.status, 1);
  assert.match(start.stderr, new RegExp(`^vmstatedctl: web: a bhyve that vmstated did not start runs VM web: pid ${byHand.pid} \\(bhyve: web \\(bhyve-sim [0-9a-f]+\\)\\); vmstated does not destroy /dev/vmm/web while it runs`, 'm'));
  assert.equal((await ctlStatus(env, 'web')).state, 'failed');
  assert.ok(isProcessAlive(byHand.pid!), 'the hand-started bhyve still runs');
  assert.equal(readVmmRecord('web', env.simdir)?.pid, byHand.pid, 'its instance is still there');
  assert.deepEqual([launches(env, 'web'), hooksRan(env, 'web')], [0, ['failed']], 'nothing launched, no hook but failed');

  // Once it is gone, its instance is a leftover with no process: the next start destroys it, as always.
  byHand.kill('SIGKILL');
  await waitFor('the hand-started bhyve to die', () => (isProcessAlive(byHand.pid!) ? undefined : true));
  assert.notEqual(readVmmRecord('web', env.simdir), null);
  assert.equal((await ctl(env, 'failreset', 'web')).status, 0);
  assert.equal((await ctl(env, 'start', 'web')).status, 0);
  assert.notEqual(readVmmRecord('web', env.simdir)?.pid, byHand.pid);
});

test('with a bhyve stand-in (vmstated --bhyve) whose instances vmstated cannot see, a same-named one started by hand is found by its command line and never destroyed', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  // A stand-in pair that keeps no /dev/vmm record and sets no title; its bhyvectl logs each call.
  const standIn = path.join(env.dir, 'fake-bhyve');
  const standInCtl = path.join(env.dir, 'fake-bhyvectl');
  const ctlCalls = path.join(env.dir, 'bhyvectl.calls');
  fs.writeFileSync(standIn, '#!/bin/sh\ntrap "exit 1" TERM\nwhile :; do sleep 0.1; done\n', { mode: 0o755 });
  fs.writeFileSync(standInCtl, `#!/bin/sh\necho "$*" >> '${ctlCalls}'\n`, { mode: 0o755 });
  const vmdir = env.writeVm('web', {}, { hooks: HOOKS });
  const byHand = spawn(standIn, ['-k', path.join(vmdir, 'bhyve_config'), 'web'], { stdio: 'ignore' });
  t.after(() => void byHand.kill('SIGKILL'));
  await waitFor('the hand-started stand-in to run', async () => ((await readProcess(byHand.pid!))?.args.endsWith(' web') ? true : undefined));
  await env.startDaemon(['--bhyve', standIn, '--bhyvectl', standInCtl]);

  const start = await ctl(env, 'start', 'web');
  assert.equal(start.status, 1);
  assert.match(start.stderr, new RegExp(`^vmstatedctl: web: a bhyve that vmstated did not start runs VM web: pid ${byHand.pid} \\(/bin/sh ${standIn} -k `, 'm'));
  assert.ok(isProcessAlive(byHand.pid!), 'the hand-started bhyve still runs');
  assert.equal(fs.existsSync(ctlCalls), false, 'bhyvectl never ran: nothing destroyed');
  assert.equal(launches(env, 'web'), 0);

  byHand.kill('SIGKILL');
  await waitFor('the hand-started bhyve to die', () => (isProcessAlive(byHand.pid!) ? undefined : true));
  assert.equal((await ctl(env, 'failreset', 'web')).status, 0);
  assert.equal((await ctl(env, 'start', 'web')).status, 0, 'its own stand-in bhyve is not taken for a foreign one');
  assert.equal((await ctlStatus(env, 'web')).state, 'running');
  assert.match(fs.readFileSync(ctlCalls, 'utf8'), /^--vm=web --destroy$/m);
});
