import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimSandbox } from './harness.js';

test('--destroy and --force-poweroff without an instance: "VM:NAME is not created." and exit 1', async (t) => {
  const sim = new SimSandbox(t);
  for (const operation of ['--destroy', '--force-poweroff', '--force-reset']) {
    const result = await sim.bhyvectl(['--vm=ghost', operation]);
    assert.equal(result.status, 1, operation);
    assert.equal(result.stdout, 'VM:ghost is not created.\n');
  }
});

test('the instance outlives bhyve until --destroy; destroying twice reports "not created"', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('web', ['sim.guest=reboot']);
  assert.equal((await bhyve.exited()).status, 0);
  assert.equal(sim.record('web')?.suspended, 'reset');
  const destroy = await sim.bhyvectl(['--vm', 'web', '--destroy']);
  assert.deepEqual([destroy.status, destroy.stdout, destroy.stderr], [0, '', '']);
  assert.equal(sim.record('web'), null);
  assert.equal((await sim.bhyvectl(['--vm=web', '--destroy'])).stdout, 'VM:web is not created.\n');
});

test('--force-poweroff makes a running bhyve exit 1; a second force on the suspended VM fails with EALREADY', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('web', ['sim.acpi=ignore']);
  await bhyve.running();
  const force = await sim.bhyvectl(['--vm=web', '--force-poweroff']);
  assert.equal(force.status, 0, force.stderr);
  assert.deepEqual(await bhyve.exited(), { status: 1, signal: null });
  const again = await sim.bhyvectl(['--vm=web', '--force-poweroff']);
  assert.deepEqual([again.status, again.stdout], [255, 'errno = 37\n']);
  // A relaunch re-initialises the instance, so it can be forced again.
  const relaunched = sim.launchVm('web', []);
  await relaunched.running();
  assert.equal((await sim.bhyvectl(['--vm=web', '--force-reset'])).status, 0);
  assert.deepEqual(await relaunched.exited(), { status: 0, signal: null });
});

test('--force-reset makes a running bhyve exit 0; --force-poweroff --destroy in one call leaves no instance', async (t) => {
  const sim = new SimSandbox(t);
  const first = sim.launchVm('a', []);
  const second = sim.launchVm('b', []);
  await Promise.all([first.running(), second.running()]);
  assert.equal((await sim.bhyvectl(['--vm=a', '--force-reset'])).status, 0);
  assert.deepEqual(await first.exited(), { status: 0, signal: null });
  assert.equal(sim.record('a')?.suspended, 'reset');
  assert.equal((await sim.bhyvectl(['--vm=b', '--force-poweroff', '--destroy'])).status, 0);
  assert.deepEqual(await second.exited(), { status: 1, signal: null });
  assert.equal(sim.record('b'), null);
});

test('--destroy under a running bhyve pulls the instance away: bhyve exits 1', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('web', []);
  await bhyve.running();
  assert.equal((await sim.bhyvectl(['--vm=web', '--destroy'])).status, 0);
  assert.deepEqual(await bhyve.exited(), { status: 1, signal: null });
  assert.match(bhyve.stderr, /vm_run error -1, errno 6/);
  assert.equal(sim.record('web'), null);
});

test('--sim-guest makes a running guest reboot, halt, fail or abort now', async (t) => {
  const sim = new SimSandbox(t);
  const expected = { reboot: [0, null], halt: [2, null], triplefault: [3, null], error: [4, null], abort: [null, 'SIGABRT'] } as const;
  await Promise.all(Object.entries(expected).map(async ([action, [status, signal]]) => {
    const bhyve = sim.launchVm(`g-${action}`, []);
    await bhyve.running();
    const control = await sim.bhyvectl([`--vm=g-${action}`, `--sim-guest=${action}`]);
    assert.equal(control.status, 0, control.stderr);
    assert.match(control.stdout, new RegExp(`^g-${action}: (the guest|bhyve) will .*\\n$`), 'it says what the guest will do');
    assert.deepEqual(await bhyve.exited(), { status, signal }, action);
  }));
});

test('--sim-guest=ignore-acpi / honour-acpi switch how the guest takes SIGTERM; --sim-console prints a line', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('web', ['sim.acpi_delay=10ms']);
  await bhyve.running();
  const ignore = await sim.bhyvectl(['--vm=web', '--sim-guest=ignore-acpi']);
  assert.equal(ignore.status, 0);
  assert.equal(ignore.stdout, 'web: the guest will ignore the ACPI power button (SIGTERM)\n');
  bhyve.child.kill('SIGTERM');
  await bhyve.waitFor('stderr', /the guest ignores it/);
  assert.equal((await sim.bhyvectl(['--vm=web', '--sim-console=hello admin'])).status, 0);
  await bhyve.waitFor('stdout', /^hello admin$/m);
  assert.equal((await sim.bhyvectl(['--vm=web', '--sim-guest=honour-acpi'])).status, 0);
  bhyve.child.kill('SIGTERM');
  assert.deepEqual(await bhyve.exited(), { status: 1, signal: null });
});

test('--sim-guest needs a running bhyve; bad options are usage errors', async (t) => {
  const sim = new SimSandbox(t);
  const stopped = sim.launchVm('web', ['sim.guest=halt']);
  await stopped.exited();
  const result = await sim.bhyvectl(['--vm=web', '--sim-guest=reboot']);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /VM web has no running bhyve/);
  const badAction = await sim.bhyvectl(['--vm=web', '--sim-guest=explode']);
  assert.equal(badAction.status, 1);
  assert.match(badAction.stderr, /--sim-guest wants one of/);
  const noVm = await sim.bhyvectl(['--destroy']);
  assert.equal(noVm.status, 1);
  assert.match(noVm.stderr, /^Usage: bhyvectl --vm=<vmname>/m);
  const help = await sim.bhyvectl(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--sim-guest=ACTION/);
});

test('--create makes an idle instance; creating it again fails with EEXIST', async (t) => {
  const sim = new SimSandbox(t);
  assert.equal((await sim.bhyvectl(['--vm=idle', '--create'])).status, 0);
  assert.equal(sim.record('idle')?.pid, null);
  const again = await sim.bhyvectl(['--vm=idle', '--create']);
  assert.deepEqual([again.status, again.stdout], [255, 'errno = 17\n']);
  const show = await sim.bhyvectl(['--vm=idle', '--sim-show']);
  assert.equal(JSON.parse(show.stdout).running, false);
});

test('a stopped (SIGSTOP) bhyve still holds its instance: forcing it reports no answer, a relaunch is refused', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('frozen', []);
  await bhyve.running();
  bhyve.child.kill('SIGSTOP');
  const [force, relaunch] = await Promise.all([
    sim.bhyvectl(['--vm=frozen', '--force-poweroff']),
    sim.bhyve(['-k', sim.config('again.conf', ['x=1'], { bootrom: false }), 'frozen']),
  ]);
  assert.equal(force.status, 71);
  assert.match(force.stderr, /does not answer/);
  assert.equal(relaunch.status, 71);
  assert.match(relaunch.stderr, /Device busy/);
  // The request was delivered all the same: once resumed, the VM powers off, as vm_suspend() had taken effect.
  bhyve.child.kill('SIGCONT');
  assert.deepEqual(await bhyve.exited(), { status: 1, signal: null });
});
