/** What ends the simulated bhyve early, as real bhyve: no boot ROM, a ROM or device that fails, vm_run errors; its title. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig } from '../../src/bhyvesim/configfile.js';
import { setupFailure } from '../../src/bhyvesim/setup.js';
import { simKernelTag, simKernelTagOf } from '../../src/bhyvesim/title.js';
import { isBhyveOf, readProcess } from '../../src/shared/process-table.js';
import { waitFor } from '../helpers/vmstated-env.js';
import { SimSandbox } from './harness.js';

test('no boot ROM: a new instance "cannot be booted" (exit 4) and stays created; a named ROM that is missing fails the devices (exit 4)', async (t) => {
  const sim = new SimSandbox(t);
  const [bare, missing] = await Promise.all([
    sim.bhyve(['-k', sim.config('bare.conf', ['lpc.com1.path=stdio'], { bootrom: false }), 'bare']),
    sim.bhyve(['-k', sim.config('gone.conf', [`lpc.bootrom=${sim.dir}/nope.fd`]), 'gone']),
  ]);
  assert.equal(bare.status, 4);
  assert.match(bare.stderr, /^virtual machine cannot be booted$/m);
  assert.equal(sim.record('bare')?.launches, 1, 'vm_create succeeded before bhyve gave up: the instance is left');
  assert.equal(missing.status, 4);
  assert.match(missing.stderr, new RegExp(`^Error opening bootrom "${sim.dir}/nope.fd": No such file or directory\nDevice emulation initialization error: No such file or directory$`, 'm'));
});

test('sim.fail: a device that cannot be set up prints its message and exits 4', async (t) => {
  const sim = new SimSandbox(t);
  const failed = await sim.bhyve(['-k', sim.config('d.conf', ['sim.fail=Could not open backing file: No such file or directory\\nDevice emulation initialization error: No such file or directory']), 'disk']);
  assert.equal(failed.status, 4);
  assert.match(failed.stderr, /^Could not open backing file: No such file or directory\nDevice emulation initialization error: No such file or directory$/m);
  assert.equal(sim.record('disk')?.launches, 1);
});

test('vm_run_error: "vm_run error" on stderr, then exit 1, scripted or from bhyvectl', async (t) => {
  const sim = new SimSandbox(t);
  const scripted = sim.launchVm('scripted', ['sim.guest=vm_run_error@20ms']);
  const asked = sim.launchVm('asked', []);
  await asked.running();
  assert.equal((await sim.bhyvectl(['--vm=asked', '--sim-guest=vm_run_error'])).status, 0);
  for (const bhyve of [scripted, asked]) {
    assert.deepEqual(await bhyve.exited(), { status: 1, signal: null });
    assert.match(bhyve.stderr, /^vm_run error -1, errno 22$/m);
  }
  assert.equal(sim.record('scripted')?.exit?.code, 1);
});

test('a running simulated bhyve calls itself "bhyve: NAME (bhyve-sim TAG)", TAG naming its state dir', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('titled', []);
  await bhyve.running();
  const entry = await waitFor('the title in ps', async () => {
    const found = await readProcess(bhyve.pid);
    return found !== null && found.args.startsWith('bhyve:') ? found : undefined;
  });
  assert.equal(entry.args, `bhyve: titled (bhyve-sim ${simKernelTag(sim.dir)})`);
  assert.equal(isBhyveOf(entry, 'titled'), true);
  assert.equal(simKernelTagOf(entry.args), simKernelTag(sim.dir));
  assert.equal(simKernelTagOf('bhyve: titled (bhyve)'), null, 'a real bhyve has no tag');
});

test('arm64 reads the boot ROM from `bootrom`: missing exits 4, unreadable exits 1; other architectures have no rule', () => {
  const config = defaultConfig();
  assert.match(setupFailure(config, false, 'arm64')?.message ?? '', /no bootrom specified/);
  assert.equal(setupFailure(config, false, 'arm64')?.exitCode, 4);
  config.set('bootrom', '/nonexistent/u-boot.bin');
  assert.deepEqual([setupFailure(config, false, 'arm64')?.exitCode, setupFailure(config, false, 'arm64')?.message],
    [1, 'bhyve: open(/nonexistent/u-boot.bin): No such file or directory']);
  assert.equal(setupFailure(defaultConfig(), false, 'riscv64'), null);
  assert.equal(setupFailure(defaultConfig(), true, 'x64'), null, 'an instance a loader prepared runs without a ROM');
});
