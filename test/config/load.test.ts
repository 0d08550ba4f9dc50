/** Discovery of `<configdir>/*\/config`, isolation of bad VMs, duplicate names, the examples. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigDir, loadVmConfig } from '../../src/config/load.js';
import { copyExamples } from '../../src/bhyvesim/demo-copy.js';
import { bootromKey } from '../../src/config/bootrom.js';
import { onlyProblem, standInRom, summarize, tempDir, writeVm } from './helpers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('one broken VM does not stop two good ones from loading', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'alpha', 'alpha { configfile = bhyve_config; cpus = 2; }\n');
  const broken = writeVm(configdir, 'beta', 'beta { configfile = bhyve_config; cpus = ; }\n');
  writeVm(configdir, 'gamma', 'gamma { configfile = bhyve_config; memory = 1G; }\n');
  const load = await loadConfigDir(configdir);
  assert.deepEqual(load.vms.map((vm) => vm.name), ['alpha', 'gamma']);
  assert.ok(load.problems.length >= 1);
  assert.ok(load.problems.every((p) => p.file === broken && p.severity === 'error'));
  assert.deepEqual(load.rejected?.map((r) => r.file), [broken]);
});

test('VMs come in directory-name order; the name comes from the name key or the top-level key', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, '20-second', 'zulu { configfile = bhyve_config; }\n');
  writeVm(configdir, '10-first', 'ignored { name = yankee; configfile = bhyve_config; }\n');
  writeVm(configdir, '30-third', 'alpha { configfile = bhyve_config; }\n');
  const load = await loadConfigDir(configdir);
  assert.deepEqual(summarize(load.problems), []);
  assert.deepEqual(load.vms.map((vm) => [path.basename(vm.dir), vm.name]),
    [['10-first', 'yankee'], ['20-second', 'zulu'], ['30-third', 'alpha']]);
});

test('hidden directories, directories without a config file and plain files are skipped', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; }\n');
  writeVm(configdir, '.zfs', 'hidden { configfile = bhyve_config; }\n');
  fs.mkdirSync(path.join(configdir, 'iso'));
  fs.writeFileSync(path.join(configdir, 'README'), 'notes\n');
  const load = await loadConfigDir(configdir);
  assert.deepEqual(load.vms.map((vm) => vm.name), ['vm0']);
  assert.deepEqual(load.problems, []);
});

test('a config that cannot be read is an error for that VM only', async (t) => {
  const configdir = tempDir(t);
  fs.mkdirSync(path.join(configdir, 'odd', 'config'), { recursive: true });
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; }\n');
  const load = await loadConfigDir(configdir);
  assert.deepEqual(load.vms.map((vm) => vm.name), ['vm0']);
  const problem = onlyProblem(load.problems);
  assert.equal(problem.file, path.join(configdir, 'odd', 'config'));
  assert.equal(problem.severity, 'error');
});

test('a duplicate VM name rejects every VM with that name, each error naming all the files', async (t) => {
  const configdir = tempDir(t);
  const first = writeVm(configdir, 'a', 'web { configfile = bhyve_config; }\n');
  const second = writeVm(configdir, 'b', 'other {\n    name = web;\n    configfile = bhyve_config;\n}\n');
  writeVm(configdir, 'c', 'db { configfile = bhyve_config; }\n');
  const load = await loadConfigDir(configdir);
  assert.deepEqual(load.vms.map((vm) => vm.name), ['db']);
  assert.deepEqual(load.problems.map((p) => [p.file, p.line, p.column, p.severity, p.vm]), [
    [first, 1, 1, 'error', 'web'],
    [second, 2, 12, 'error', 'web'],
  ]);
  for (const problem of load.problems) {
    assert.match(problem.message, /VM name web is used by 2 config files/);
    assert.ok(problem.message.includes(first) && problem.message.includes(second), problem.message);
  }
  assert.deepEqual(load.rejected?.map((r) => r.name), ['web', 'web']);
});

test('a duplicate name is reported even when one of the two files has other errors', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'a', 'web { configfile = bhyve_config; }\n');
  writeVm(configdir, 'b', 'web { configfile = bhyve_config; cpus = many; }\n');
  const load = await loadConfigDir(configdir);
  assert.deepEqual(load.vms, []);
  assert.equal(load.problems.filter((p) => /used by 2 config files/.test(p.message)).length, 2);
});

test('a missing config directory is an error naming the path', async (t) => {
  const missing = path.join(tempDir(t), 'nope');
  await assert.rejects(loadConfigDir(missing), (err: Error) => {
    assert.equal(err.message, `cannot read config directory ${missing}: no such file or directory`);
    return true;
  });
});

test('a config directory that is a file is an error naming the path', async (t) => {
  const file = path.join(tempDir(t), 'file');
  fs.writeFileSync(file, '');
  await assert.rejects(loadConfigDir(file), new RegExp(`cannot read config directory ${file}: not a directory`));
});

test('loadVmConfig reads one file on its own', async (t) => {
  const configdir = tempDir(t);
  const file = writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; memory = 256M; }\n');
  const load = await loadVmConfig(path.relative(process.cwd(), file));
  assert.equal(load.file, file);
  assert.deepEqual(load.problems, []);
  assert.equal(load.vm?.memoryMiB, 256);
  assert.equal(load.name, 'vm0');
});

test('the examples, as the demo runs them (a copy naming a stand-in boot ROM), load with no problem at all', async (t) => {
  const examples = path.join(tempDir(t), 'examples');
  copyExamples(path.join(repoRoot, 'examples'), examples, standInRom(path.dirname(examples)));
  const load = await loadConfigDir(examples);
  assert.deepEqual(summarize(load.problems), []);
  const byName = new Map(load.vms.map((vm) => [vm.name, vm]));
  assert.deepEqual(load.vms.map((vm) => vm.name), ['build', 'db', 'web']);
  assert.deepEqual(
    [...byName.values()].map((vm) => [vm.name, vm.autostart, vm.startorder, vm.startdelay]),
    [['build', false, 0, 0], ['db', true, 0, 1], ['web', true, 1, 0]],
  );
  assert.equal(byName.get('build')?.maxrestart, 2);
  assert.equal(byName.get('build')?.maxrestarttime, 60);
  assert.ok(byName.get('build')?.description);
  for (const vm of load.vms) {
    assert.equal(vm.configfile, path.join(examples, vm.name, 'bhyve_config'));
    const hooks = fs.readdirSync(vm.dir).filter((f) => !['config', 'bhyve_config'].includes(f) && !f.endsWith('.generated'));
    assert.ok(hooks.length >= 2, `${vm.name} has hook scripts`);
    for (const hook of hooks) assert.ok((fs.statSync(path.join(vm.dir, hook)).mode & 0o777) === 0o755, `${hook} is executable, 0755`);
    assert.equal(fs.statSync(vm.dir).mode & 0o777, 0o755);
    assert.equal(fs.statSync(vm.file).mode & 0o777, 0o644);
  }
});

test("the examples name FreeBSD's firmware: on a host without it, the missing boot ROM is each VM's only problem", async (t) => {
  const rom = '/usr/local/share/uefi-firmware/BHYVE_UEFI.fd';
  const load = await loadConfigDir(path.join(repoRoot, 'examples'));
  if (bootromKey() === 'lpc.bootrom' && fs.existsSync(rom)) {
    t.diagnostic(`${rom} is installed here: the examples load as they are`);
    assert.deepEqual(summarize(load.problems), []);
    return;
  }
  assert.deepEqual(load.problems.map((p) => [p.vm, p.severity, /boot ROM/.test(p.message)]), [['build', 'error', true], ['db', 'error', true], ['web', 'error', true]]);
});

test('an included file that is not trusted is an error at its .include, with try=true too; a missing one is skipped with try=true', async (t) => {
  const configdir = tempDir(t);
  const shared = path.join(configdir, 'shared.conf');
  fs.writeFileSync(shared, 'cpus = 2;\n');
  fs.chmodSync(shared, 0o664); // writable by group: not trusted
  const includes = {
    plain: `.include "${shared}"`,
    tried: `.include(try=true) "${shared}"`,
    globbed: `.include(try=true,glob=true) "${configdir}/share*.conf"`,
    loaded: `.load(try=true,key="description") "${shared}"`,
    missing: `.include(try=true) "${configdir}/absent.conf"`,
  };
  for (const [vm, include] of Object.entries(includes)) writeVm(configdir, vm, `${vm} {\n  configfile = bhyve_config;\n  ${include}\n}\n`);
  const load = await loadConfigDir(configdir);
  assert.deepEqual(load.vms.map((vm) => vm.name), ['missing']);
  for (const vm of ['plain', 'tried', 'globbed', 'loaded']) {
    const problem = onlyProblem(load.problems.filter((p) => p.file === path.join(configdir, vm, 'config')));
    assert.equal(problem.severity, 'error', vm);
    assert.deepEqual([problem.line, problem.column], [3, 3], `${vm}: at its .include or .load`);
    assert.match(problem.message, new RegExp(`^cannot (include|load) \\S+: is not trusted: ${shared}: writable by group`), vm);
  }
});
