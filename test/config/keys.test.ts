/** Every config key: its type, its default, and how it is read. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadOne, summarize, onlyProblem, positionOf, standInRom, tempDir, valueAt, writeVm } from './helpers.js';
import { loadConfigDir } from '../../src/config/load.js';
import type { ConfigDirLoad } from '../../src/config/types.js';

/** Load `key = written` in one VM and check it gives exactly one error, matching `message`, at the value. */
async function loadWithErrorAtValue(t: TestContext, key: string, written: string, message: RegExp): Promise<ConfigDirLoad> {
  const { load, text } = await loadOne(t, `    ${key} = ${written};`);
  const problem = onlyProblem(load.problems);
  assert.equal(problem.severity, 'error');
  assert.match(problem.message, message);
  assert.deepEqual({ line: problem.line, column: problem.column }, valueAt(text, key, written));
  return load;
}

test('a config with only configfile gets every default', async (t) => {
  const { load, file } = await loadOne(t, '');
  assert.deepEqual(load.problems, []);
  const dir = path.dirname(file);
  assert.deepEqual(load.vms, [{
    name: 'vm0', file, dir, configfile: path.join(dir, 'bhyve_config'), scriptpath: dir,
    maxrestart: 3, maxrestarttime: 30, autostart: false, startorder: 0, startdelay: 0,
    stoptimeout: 60, hooktimeout: 120, settletime: 1,
  }]);
});

test('every key is read with its type, relative paths from the VM directory', async (t) => {
  const configdir = tempDir(t);
  const file = writeVm(configdir, 'vm0', `vm0 {
    configfile = bhyve_config;
    name = alpha;
    scriptpath = hooks;
    os = freebsd;
    osversion = 14.1;
    owner = root;
    group = 0;
    description = "a test VM";
    maxrestart = 5;
    maxrestarttime = 10s;
    bootrom = "firmware/BHYVE_UEFI.fd";
    generate_acpi_tables = true;
    vmexit_on_halt = no;
    memory = 512M;
    cpus = 4;
    sockets = 2;
    cores = 2;
    threads = 1;
    autostart = yes;
    startorder = -2;
    startdelay = 500ms;
    stoptimeout = 2min;
    hooktimeout = 90;
    settletime = 2s;
}
`);
  const dir = path.dirname(file);
  fs.mkdirSync(path.join(dir, 'hooks'));
  standInRom(path.join(dir, 'firmware'));
  const load = await loadConfigDir(configdir);
  assert.deepEqual(summarize(load.problems), []);
  assert.deepEqual(load.vms, [{
    name: 'alpha', file, dir,
    configfile: path.join(dir, 'bhyve_config'),
    scriptpath: path.join(dir, 'hooks'),
    os: 'freebsd', osversion: '14.1', owner: 'root', group: '0', description: 'a test VM',
    maxrestart: 5, maxrestarttime: 10,
    bootrom: path.join(dir, 'firmware/BHYVE_UEFI.fd'),
    generateAcpiTables: true, vmexitOnHalt: false,
    memoryMiB: 512, cpus: 4, sockets: 2, cores: 2, threads: 1,
    autostart: true, startorder: -2, startdelay: 0.5, stoptimeout: 120, hooktimeout: 90, settletime: 2,
  }]);
});

test('a relative bootrom is relative to the VM directory, and must exist', async (t) => {
  const { load, file } = await loadOne(t, 'bootrom = firmware/BHYVE_UEFI.fd;');
  assert.match(onlyProblem(load.problems).message, /boot ROM \S+\/firmware\/BHYVE_UEFI.fd does not exist/);
  standInRom(path.join(path.dirname(file), 'firmware'));
  const again = await loadConfigDir(path.dirname(path.dirname(file)));
  assert.deepEqual(again.problems, []);
  assert.equal(again.vms[0]?.bootrom, path.join(path.dirname(file), 'firmware/BHYVE_UEFI.fd'));
});

test('numcpus is another name for cpus', async (t) => {
  const { load } = await loadOne(t, 'numcpus = 3;');
  assert.deepEqual(load.problems, []);
  assert.equal(load.vms[0]?.cpus, 3);
});

test('numcpus and cpus together are an error at the second one', async (t) => {
  const { load, text } = await loadOne(t, '    cpus = 2;\n    numcpus = 2;');
  const problem = onlyProblem(load.problems);
  assert.equal(problem.severity, 'error');
  assert.deepEqual({ line: problem.line, column: problem.column }, positionOf(text, 'numcpus'));
  assert.match(problem.message, /numcpus and cpus/);
  assert.deepEqual(load.vms, []);
});

const memoryForms: [string, number][] = [
  ['4096', 4096], ['4G', 4096], ['"4G"', 4096], ['4g', 4096], ['4GB', 4096], ['"8GiB"', 8192],
  ['512M', 512], ['512m', 512], ['"512M"', 512], ['1024K', 1], ['"2048k"', 2], ['1T', 1048576],
  ['"1t"', 1048576], ['"2048"', 2048],
];
for (const [written, mib] of memoryForms) {
  test(`memory = ${written} is ${mib} MiB`, async (t) => {
    const { load } = await loadOne(t, `memory = ${written};`);
    assert.deepEqual(summarize(load.problems), []);
    assert.equal(load.vms[0]?.memoryMiB, mib);
  });
}

const badMemory: [string, RegExp][] = [
  ['1000K', /not a whole number of MiB/],
  ['1.5G', /memory must be/],
  ['"lots"', /memory must be a whole number of MiB or a size/],
  ['0', /at least 1M/],
  ['true', /memory must be/],
  ['4294967296', /plain number is in MiB/],
  ['"4 G"', /memory must be/],
];
for (const [written, message] of badMemory) {
  test(`memory = ${written} is an error at the value`, async (t) => {
    const load = await loadWithErrorAtValue(t, 'memory', written, message);
    assert.deepEqual(load.vms, []);
  });
}

const durations: [string, string, number][] = [
  ['maxrestarttime', '500ms', 0.5], ['maxrestarttime', '2min', 120], ['stoptimeout', '90', 90],
  ['stoptimeout', '0', 0], ['startdelay', '1.5', 1.5], ['hooktimeout', '1h', 3600], ['startdelay', '0', 0],
  ['startdelay', '10s', 10],
];
for (const [key, written, seconds] of durations) {
  test(`${key} = ${written} is ${seconds} s`, async (t) => {
    const { load } = await loadOne(t, `${key} = ${written};`);
    assert.deepEqual(summarize(load.problems), []);
    assert.equal(load.vms[0]?.[key as 'startdelay'], seconds);
  });
}

const badDurations: [string, string, RegExp][] = [
  ['stoptimeout', '"30s"', /must be a duration in seconds/],
  ['stoptimeout', '2m', /2m is not a time.*2min/],
  ['startdelay', '-1', /zero or more seconds/],
  ['hooktimeout', '0', /more than zero seconds/],
  ['maxrestarttime', '0', /more than zero seconds/],
  ['hooktimeout', 'yes', /must be a duration/],
];
for (const [key, written, message] of badDurations) {
  test(`${key} = ${written} is an error at the value`, async (t) => {
    await loadWithErrorAtValue(t, key, written, message);
  });
}

for (const [written, value] of [['true', true], ['false', false], ['yes', true], ['no', false], ['on', true], ['off', false]] as const) {
  test(`autostart = ${written} is ${value}`, async (t) => {
    const { load } = await loadOne(t, `autostart = ${written};`);
    assert.deepEqual(summarize(load.problems), []);
    assert.equal(load.vms[0]?.autostart, value);
  });
}

const badValues: [string, string, RegExp][] = [
  ['cpus', '"two"', /cpus must be an integer from 1 to 65535, not the string "two"/],
  ['cpus', '0', /cpus must be an integer from 1 to 65535, not 0/],
  ['cpus', '2.5', /cpus must be an integer/],
  ['cpus', '2k', /cpus must be an integer/],
  ['sockets', '70000', /sockets must be an integer from 1 to 65535/],
  ['cores', 'true', /cores must be an integer/],
  ['threads', '[1, 2]', /threads must be an integer.*a list/],
  ['maxrestart', '-1', /maxrestart must be an integer of at least 0/],
  ['startorder', '"first"', /startorder must be an integer/],
  ['autostart', '"yes"', /autostart must be true or false.*without quotes/],
  ['vmexit_on_halt', '1', /vmexit_on_halt must be true or false/],
  ['generate_acpi_tables', 'null', /must be true or false, not null/],
  ['description', '{ text = hi; }', /description must be a string, not an object/],
  ['os', 'true', /os must be a string/],
  ['bootrom', '42', /bootrom must be a path/],
  ['scriptpath', '""', /scriptpath is empty/],
  ['name', '5s', /name must be a string, not the time/],
];
for (const [key, written, message] of badValues) {
  test(`${key} = ${written} is an error at the value`, async (t) => {
    const load = await loadWithErrorAtValue(t, key, written, message);
    assert.deepEqual(load.vms, []);
    assert.equal(load.rejected?.[0]?.name, key === 'name' ? undefined : 'vm0');
  });
}

test('configfile of the wrong type is an error', async (t) => {
  const configdir = tempDir(t);
  const text = 'vm0 {\n    configfile = 7;\n}\n';
  writeVm(configdir, 'vm0', text);
  const load = await loadConfigDir(configdir);
  const problem = onlyProblem(load.problems);
  assert.match(problem.message, /configfile must be a path/);
  assert.deepEqual({ line: problem.line, column: problem.column }, positionOf(text, '7;'));
});

test('text keys take a plain number as written', async (t) => {
  const { load } = await loadOne(t, 'osversion = 14.10;\nowner = 1001;\ngroup = 1002;');
  assert.deepEqual(summarize(load.problems), []);
  assert.equal(load.vms[0]?.osversion, '14.10');
  assert.equal(load.vms[0]?.owner, '1001');
  assert.equal(load.vms[0]?.group, '1002');
});
