import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimSandbox } from './harness.js';

test('a running guest prints its console on stdout, diagnostics on stderr, and owns /dev/vmm/NAME', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('web', ['memory.size=512M', 'cpus=2', 'sim.console=hello from the guest\\nsecond line']);
  await bhyve.running();
  assert.match(bhyve.stdout, /^Booting web \(simulated guest: 2 vCPUs, 512 MiB, boot 1\)\nhello from the guest\nsecond line\n/);
  assert.match(bhyve.stderr, new RegExp(`pid ${bhyve.pid} created /dev/vmm/web`));
  const record = sim.record('web');
  assert.equal(record?.pid, bhyve.pid);
  assert.equal(record?.memoryBytes, 512 * 1024 * 1024);
  assert.equal(record?.cpus, 2);
  assert.equal(record?.suspended, null);
  assert.equal(record?.configFile, `${sim.dir}/web.conf`);
});

test('SIGTERM presses the ACPI power button: the guest shuts down and bhyve exits 1; the instance stays', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('web', ['sim.acpi_delay=50ms']);
  await bhyve.running();
  bhyve.child.kill('SIGTERM');
  assert.deepEqual(await bhyve.exited(), { status: 1, signal: null });
  assert.match(bhyve.stdout, /power button pressed; shutting down in 50 ms\nweb: acpi0: Powering system off\n/);
  assert.match(bhyve.stderr, /powered off \(exit 1\)/);
  const record = sim.record('web');
  assert.equal(record?.suspended, 'poweroff');
  assert.deepEqual(record?.exit?.code, 1);
});

test('destroy_on_poweroff removes the instance when the guest powers off', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launch(['-D', '-k', sim.config('d.conf', ['sim.guest=poweroff']), 'dvm']);
  assert.equal((await bhyve.exited()).status, 1);
  assert.equal(sim.record('dvm'), null);
});

test('each scripted guest action ends bhyve with its exit status', async (t) => {
  const sim = new SimSandbox(t);
  const expected = { reboot: 0, poweroff: 1, halt: 2, triplefault: 3, error: 4 } as const;
  const runs = Object.entries(expected).map(async ([action, status]) => {
    const bhyve = sim.launchVm(`vm-${action}`, [`sim.guest=${action}@20ms`]);
    assert.deepEqual(await bhyve.exited(), { status, signal: null }, `${action}: ${bhyve.stderr}`);
    assert.match(bhyve.stdout, new RegExp(`it will ${action} in 20 ms`));
    assert.equal(sim.record(`vm-${action}`)?.exit?.code, status);
  });
  await Promise.all(runs);
});

test('sim.guest=abort kills bhyve with SIGABRT, as an emulation abort does', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('crashy', ['sim.guest=abort']);
  assert.deepEqual(await bhyve.exited(), { status: null, signal: 'SIGABRT' });
  assert.match(bhyve.stderr, /Assertion failed/);
  assert.equal(sim.record('crashy')?.exit?.signal, 'SIGABRT');
});

test('a guest that ignores ACPI keeps running after SIGTERM; hang does the same', async (t) => {
  const sim = new SimSandbox(t);
  await Promise.all([['deaf', 'sim.acpi=ignore'], ['hung', 'sim.guest=hang']].map(async ([name, setting]) => {
    const bhyve = sim.launchVm(name, [setting, 'sim.acpi_delay=10ms']);
    await bhyve.running();
    bhyve.child.kill('SIGTERM');
    await bhyve.waitFor('stderr', /ACPI power button pressed; the guest ignores it/);
    const show = await sim.bhyvectl([`--vm=${name}`, '--sim-show']);
    assert.equal(JSON.parse(show.stdout).running, true);
    assert.equal(bhyve.child.exitCode, null);
    // Only force-poweroff (or SIGKILL) ends it.
    assert.equal((await sim.bhyvectl([`--vm=${name}`, '--force-poweroff'])).status, 0);
    assert.deepEqual(await bhyve.exited(), { status: 1, signal: null });
  }));
});

test('before the guest enables ACPI (firmware stage) SIGTERM kills bhyve at once', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('early', ['sim.acpi_ready=1min']);
  await bhyve.running();
  assert.doesNotMatch(bhyve.stdout, /ACPI enabled/);
  bhyve.child.kill('SIGTERM');
  assert.deepEqual(await bhyve.exited(), { status: null, signal: 'SIGTERM' });
});

test('SIGINT has no handler: it kills bhyve, which leaves its instance behind', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('web', []);
  await bhyve.running();
  bhyve.child.kill('SIGINT');
  assert.deepEqual(await bhyve.exited(), { status: null, signal: 'SIGINT' });
  assert.equal(sim.record('web')?.pid, bhyve.pid);
});

test('a second bhyve for a running VM is refused; the first keeps running', async (t) => {
  const sim = new SimSandbox(t);
  const first = sim.launchVm('web', []);
  await first.running();
  const plain = await sim.bhyve(['-k', sim.config('again.conf', ['x=1'], { bootrom: false }), 'web']);
  assert.equal(plain.status, 71, 'no bootrom: vCPU 0 cannot be activated (EX_OSERR)');
  assert.match(plain.stderr, /could not activate CPU 0: Device busy/);
  const withRom = await sim.bhyve(['-k', sim.config('rom.conf', []), 'web']);
  assert.equal(withRom.status, 4, 'bootrom: vm_reinit fails with EBUSY');
  assert.match(withRom.stderr, /vm_reinit: Device busy/);
  assert.equal(sim.record('web')?.pid, first.pid);
  assert.equal(first.child.exitCode, null);
});

test('an instance whose bhyve died (SIGKILL) is reused by the next launch', async (t) => {
  const sim = new SimSandbox(t);
  const first = sim.launchVm('web', []);
  await first.running();
  first.child.kill('SIGKILL');
  await first.exited();
  const second = sim.launchVm('web', []);
  await second.running();
  assert.match(second.stderr, /reuses \/dev\/vmm\/web/);
  const record = sim.record('web');
  assert.equal(record?.pid, second.pid);
  assert.equal(record?.launches, 2);
});

test('sim.times=N does the action on the first N boots only (a bounded reboot loop)', async (t) => {
  const sim = new SimSandbox(t);
  for (const boot of [1, 2]) {
    const bhyve = sim.launchVm('loop', ['sim.guest=reboot', 'sim.times=2']);
    assert.equal((await bhyve.exited()).status, 0, `boot ${boot} reboots`);
  }
  const third = sim.launchVm('loop', ['sim.guest=reboot', 'sim.times=2']);
  await third.running();
  assert.match(third.stdout, /boot 3\)\n[^]*loop: guest running\n/);
  assert.equal(third.child.exitCode, null);
});

test('sim.flood prints every console line whole', async (t) => {
  const sim = new SimSandbox(t);
  const bhyve = sim.launchVm('chatty', ['sim.flood=3000', 'sim.guest=poweroff']);
  assert.equal((await bhyve.exited()).status, 1);
  const lines = bhyve.stdout.split('\n').filter((line) => line.includes('console flood line'));
  assert.equal(lines.length, 3000);
  assert.equal(lines[2999], 'chatty: console flood line 3000 of 3000');
});

test('command line: no VM name is a usage error (exit 1); name= in the file counts; the operand wins', async (t) => {
  const sim = new SimSandbox(t);
  const noName = await sim.bhyve(['-k', sim.config('n.conf', ['memory.size=1G'])]);
  assert.equal(noName.status, 1);
  assert.match(noName.stderr, /^Usage: bhyve /m);
  const fromFile = sim.launch(['-k', sim.config('named.conf', ['name=filename', 'sim.guest=halt'])]);
  assert.equal((await fromFile.exited()).status, 2);
  assert.notEqual(sim.record('filename'), null);
  const operand = sim.launch(['-k', sim.config('named2.conf', ['name=ignored', 'sim.guest=halt']), 'operand']);
  assert.equal((await operand.exited()).status, 2);
  assert.notEqual(sim.record('operand'), null);
  assert.equal(sim.record('ignored'), null);
  const help = await sim.bhyve(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /sim\.guest=ACTION\[@DURATION\]/);
});

test('config file: unreadable file and bad lines exit 4 naming the file and line', async (t) => {
  const sim = new SimSandbox(t);
  const missing = await sim.bhyve(['-k', `${sim.dir}/absent.conf`, 'web']);
  assert.equal(missing.status, 4);
  assert.match(missing.stderr, /Failed to open configuration file .*absent\.conf: No such file or directory/);
  const bad = await sim.bhyve(['-k', sim.config('bad.conf', ['# comment', 'cpus=1', 'no equals sign']), 'web']);
  assert.equal(bad.status, 4);
  assert.ok(bad.stderr.includes("bad.conf line 3: invalid config option 'no equals sign'"), bad.stderr);
  assert.equal(sim.record('web'), null, 'a refused launch creates no instance');
});

test('config file: comments, blank lines, last assignment wins, no trimming, bad sim settings exit 4', async (t) => {
  const sim = new SimSandbox(t);
  const ok = sim.launchVm('mem', ['# memory.size=bogus', '', 'memory.size=1G', 'memory.size=2G', 'sim.guest=halt']);
  assert.equal((await ok.exited()).status, 2);
  assert.equal(sim.record('mem')?.memoryBytes, 2 * 1024 ** 3);
  const spaced = await sim.bhyve(['-k', sim.config('sp.conf', ['memory.size= 2G']), 'sp']);
  assert.equal(spaced.status, 64, 'the value " 2G" is not trimmed, so it is an invalid memsize');
  assert.match(spaced.stderr, /invalid memsize ' 2G'/);
  const badSim = await sim.bhyve(['-k', sim.config('bs.conf', ['sim.guest=explode']), 'bs']);
  assert.equal(badSim.status, 4);
  assert.match(badSim.stderr, /invalid sim\.guest 'explode'/);
});
