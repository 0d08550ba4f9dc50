/** Each validation rule of DESIGN.md section 4, with the position it reports. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfigDir } from '../../src/config/load.js';
import { parseUclFile, UclError } from '../../src/ucl/index.js';
import { loadOne, onlyProblem, positionOf, summarize, tempDir, valueAt, writeVm } from './helpers.js';

function at(problem: { line: number; column: number }): { line: number; column: number } {
  return { line: problem.line, column: problem.column };
}

test('a UCL syntax error is reported where the parser found it', async (t) => {
  const configdir = tempDir(t);
  const file = writeVm(configdir, 'vm0', 'vm0 {\n    configfile = bhyve_config;\n    cpus = 2\n    memory = "4G;\n}\n');
  let thrown: unknown;
  try {
    parseUclFile(file, { filename: file });
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof UclError, 'the parser rejects the file');
  const load = await loadConfigDir(configdir);
  const problem = onlyProblem(load.problems);
  assert.equal(problem.severity, 'error');
  assert.equal(problem.file, thrown.file ?? file);
  assert.deepEqual(at(problem), { line: thrown.line, column: thrown.column });
  assert.ok(problem.line >= 1);
  assert.deepEqual(load.vms, []);
  assert.deepEqual(load.rejected?.map((r) => r.file), [file]);
});

test('an unknown key is a warning at the key, with a suggestion, and the VM still loads', async (t) => {
  const { load, text } = await loadOne(t, '    cpu = 2;\n    frobnicate = yes;');
  assert.deepEqual(summarize(load.problems), [
    `warning ${positionOf(text, 'cpu =').line}:5 unknown key cpu is ignored; did you mean cpus?`,
    `warning ${positionOf(text, 'frobnicate').line}:5 unknown key frobnicate is ignored`,
  ]);
  assert.equal(load.problems[0]?.vm, 'vm0');
  assert.equal(load.vms.length, 1);
});

test('a missing configfile is an error at the VM object', async (t) => {
  const configdir = tempDir(t);
  const text = '# no configfile\nbsdvm {\n    cpus = 2;\n}\n';
  writeVm(configdir, 'bsdvm', text);
  const load = await loadConfigDir(configdir);
  const problem = onlyProblem(load.problems);
  assert.equal(problem.severity, 'error');
  assert.deepEqual(at(problem), { line: 2, column: 1 });
  assert.match(problem.message, /VM bsdvm has no configfile/);
  assert.equal(problem.vm, 'bsdvm');
});

test('a configfile that does not exist is an error at its value', async (t) => {
  const configdir = tempDir(t);
  const text = 'vm0 {\n    configfile = missing_config;\n}\n';
  const file = writeVm(configdir, 'vm0', text);
  const load = await loadConfigDir(configdir);
  const problem = onlyProblem(load.problems);
  assert.deepEqual(at(problem), valueAt(text, 'configfile', 'missing_config'));
  assert.equal(problem.message, `bhyve config file ${path.join(path.dirname(file), 'missing_config')} does not exist`);
});

test('a configfile that is a directory is an error', async (t) => {
  const configdir = tempDir(t);
  const text = 'vm0 {\n    configfile = ".";\n}\n';
  writeVm(configdir, 'vm0', text);
  const load = await loadConfigDir(configdir);
  assert.match(onlyProblem(load.problems).message, /is a directory/);
});

test('cpus that do not match sockets * cores * threads is an error at cpus', async (t) => {
  const { load, text } = await loadOne(t, '    sockets = 2;\n    cores = 2;\n    threads = 2;\n    cpus = 4;');
  const problem = onlyProblem(load.problems);
  assert.equal(problem.severity, 'error');
  assert.deepEqual(at(problem), valueAt(text, 'cpus', '4'));
  assert.match(problem.message, /cpus = 4 does not match the topology: 2 sockets × 2 cores × 2 threads = 8/);
});

test('a matching topology loads', async (t) => {
  const { load } = await loadOne(t, 'cpus = 8; sockets = 2; cores = 2; threads = 2;');
  assert.deepEqual(summarize(load.problems), []);
});

test('as in bhyve, sockets defaults to cpus, so cpus = 4 with cores = 2 alone does not match', async (t) => {
  const { load } = await loadOne(t, 'cpus = 4; cores = 2;');
  assert.match(onlyProblem(load.problems).message, /4 sockets × 2 cores × 1 threads = 8 \(sockets not set: bhyve uses cpus\)/);
});

test('the topology check counts the values the bhyve config file sets', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; cpus = 4; cores = 2; }\n', 'sockets=2\ncpus=1\n');
  assert.deepEqual(summarize((await loadConfigDir(configdir)).problems), []);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; cpus = 6; }\n', 'sockets=2\ncores=2\n');
  assert.match(onlyProblem((await loadConfigDir(configdir)).problems).message,
    /2 sockets × 2 cores × 1 threads = 4 \(sockets=2 from bhyve_config; cores=2 from bhyve_config\)/);
});

test('more than one top-level object is an error at the second', async (t) => {
  const configdir = tempDir(t);
  const text = 'web {\n    configfile = bhyve_config;\n}\ndb {\n    configfile = bhyve_config;\n}\n';
  writeVm(configdir, 'both', text);
  const load = await loadConfigDir(configdir);
  const problem = onlyProblem(load.problems);
  assert.deepEqual(at(problem), { line: 4, column: 1 });
  assert.match(problem.message, /more than one top-level object \(web, db\)/);
  assert.deepEqual(load.vms, []);
});

test('settings outside a VM object are an error', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'flat', 'configfile = bhyve_config;\ncpus = 2;\n');
  const problem = onlyProblem((await loadConfigDir(configdir)).problems);
  assert.deepEqual(at(problem), { line: 1, column: 1 });
  assert.match(problem.message, /top-level key configfile is not a VM object/);
});

test('an empty config file is an error', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'empty', '# nothing yet\n');
  const problem = onlyProblem((await loadConfigDir(configdir)).problems);
  assert.deepEqual(at(problem), { line: 1, column: 1 });
  assert.match(problem.message, /no VM defined/);
});

test('a key given twice is an error at the second', async (t) => {
  const { load, text } = await loadOne(t, '    memory = 1G;\n    memory = 2G;');
  const problem = onlyProblem(load.problems);
  assert.deepEqual(at(problem), { line: positionOf(text, 'memory = 2G').line, column: 5 });
  assert.match(problem.message, /memory is given 2 times \(first at line 3\)/);
});

test('a VM name bhyve cannot use is an error at the name', async (t) => {
  const { load, text } = await loadOne(t, '    name = "my vm";');
  const problem = onlyProblem(load.problems);
  assert.deepEqual(at(problem), valueAt(text, 'name', '"my vm"'));
  assert.match(problem.message, /VM name "my vm" is not usable/);
  const long = await loadOne(t, '', 'a'.repeat(32));
  assert.match(onlyProblem(long.load.problems).message, /is not usable/);
  const ok = await loadOne(t, '', 'a'.repeat(31));
  assert.deepEqual(ok.load.problems, []);
});

test('the VM name "vmstated" is refused: its log would be the daemon log', async (t) => {
  const { load, text } = await loadOne(t, '    name = vmstated;');
  const problem = onlyProblem(load.problems);
  assert.deepEqual(at(problem), valueAt(text, 'name', 'vmstated'));
  assert.match(problem.message, /"vmstated" is reserved/);
  assert.deepEqual(load.vms, []);
});

test('a leftover config.dump=1 in the bhyve file is an error at its line', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; }\n', 'name=vm0\nconfig.dump=1\ncpus=2\n');
  const problem = onlyProblem((await loadConfigDir(configdir)).problems);
  assert.equal(problem.file, path.join(configdir, 'vm0', 'bhyve_config'));
  assert.deepEqual(at(problem), { line: 2, column: 1 });
  assert.match(problem.message, /config\.dump makes bhyve print its config and exit/);
});

test('a hook script that is not executable is a warning naming the script', async (t) => {
  const configdir = tempDir(t);
  const file = writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; }\n');
  const hook = path.join(path.dirname(file), 'start_network');
  fs.writeFileSync(hook, '#!/bin/sh\nifconfig tap0 create\n', { mode: 0o644 });
  fs.writeFileSync(path.join(path.dirname(file), 'stop_network'), '#!/bin/sh\n', { mode: 0o755 });
  const load = await loadConfigDir(configdir);
  const problem = onlyProblem(load.problems);
  assert.equal(problem.severity, 'warning');
  assert.equal(problem.file, hook);
  assert.match(problem.message, /hook script start_network is not an executable file \(chmod 755/);
  assert.equal(load.vms.length, 1);
});

test('a scriptpath that is not a directory is a warning at its value', async (t) => {
  const { load, text } = await loadOne(t, '    scriptpath = nohooks;');
  const problem = onlyProblem(load.problems);
  assert.equal(problem.severity, 'warning');
  assert.deepEqual(at(problem), valueAt(text, 'scriptpath', 'nohooks'));
  assert.equal(load.vms.length, 1);
});

test('several errors in one file are all reported, in source order', async (t) => {
  const { load, text } = await loadOne(t, '    memory = lots;\n    cpus = "two";\n    bogus = 1;');
  assert.deepEqual(load.problems.map((p) => [p.severity, p.line]), [
    ['error', positionOf(text, 'memory').line],
    ['error', positionOf(text, 'cpus').line],
    ['warning', positionOf(text, 'bogus').line],
  ]);
});

test('a bhyve file line that bhyve would refuse is an error at that line; empty lines and comments are fine', async (t) => {
  const configdir = tempDir(t);
  const bhyveFile = '# dumped by bhyve\n\nname=vm0\npci.0.0.0.device hostbridge\nlpc.com1.path=\n cpus=2\n';
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; }\n', bhyveFile);
  const load = await loadConfigDir(configdir);
  assert.deepEqual(load.problems.map((p) => [p.file, p.severity, p.line, p.column]), [
    [path.join(configdir, 'vm0', 'bhyve_config'), 'error', 4, 1],
    [path.join(configdir, 'vm0', 'bhyve_config'), 'error', 5, 1],
    [path.join(configdir, 'vm0', 'bhyve_config'), 'warning', 6, 1],
  ]);
  assert.match(load.problems[0]!.message, /bhyve would refuse this line.*"pci\.0\.0\.0\.device hostbridge" is not key=value/);
  assert.match(load.problems[2]!.message, /has spaces around it/);
  assert.deepEqual(load.vms, []);
});

test('a topology value of the wrong type gives its own error, not a topology one too', async (t) => {
  const configdir = tempDir(t);
  writeVm(configdir, 'vm0', 'vm0 { configfile = bhyve_config; cpus = "two"; sockets = 2; }\n', 'cpus=4\n');
  assert.match(onlyProblem((await loadConfigDir(configdir)).problems).message, /cpus must be an integer/);
});

test('an owner or group unknown to this host is a warning at its value', async (t) => {
  const { load, text } = await loadOne(t, '    owner = no_such_user_vmstated;\n    group = no_such_group_vmstated;');
  assert.deepEqual(load.problems.map((p) => [p.severity, p.line, p.column]), [
    ['warning', valueAt(text, 'owner', 'no_such_user_vmstated').line, valueAt(text, 'owner', 'no_such_user_vmstated').column],
    ['warning', valueAt(text, 'group', 'no_such_group_vmstated').line, valueAt(text, 'group', 'no_such_group_vmstated').column],
  ]);
  assert.match(load.problems[0]!.message, /owner no_such_user_vmstated is not a user on this host/);
  assert.match(load.problems[1]!.message, /group no_such_group_vmstated is not a group on this host/);
  assert.equal(load.vms.length, 1);
});
