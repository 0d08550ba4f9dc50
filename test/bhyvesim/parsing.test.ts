import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseBhyveArguments } from '../../src/bhyvesim/arguments.js';
import { defaultConfig, guestCpus, loadConfigFile, parseMemsize } from '../../src/bhyvesim/configfile.js';
import { SimExit } from '../../src/bhyvesim/failure.js';
import { guestScript, parseDuration } from '../../src/bhyvesim/guest.js';
import { simBhyvectlPath, simBhyvePath, simStateDir } from '../../src/bhyvesim/paths.js';

test('memory sizes read as bhyve reads them: small plain numbers are MiB, suffixes are binary', () => {
  assert.equal(parseMemsize('512'), 512 * 2 ** 20);
  assert.equal(parseMemsize('4G'), 4 * 2 ** 30);
  assert.equal(parseMemsize('4g'), 4 * 2 ** 30);
  assert.equal(parseMemsize('512M'), 512 * 2 ** 20);
  assert.equal(parseMemsize('2097152'), 2097152);
  assert.equal(parseMemsize('4 G'), null);
  assert.equal(parseMemsize(''), null);
});

test('durations: ms, s, min, h; a plain number is seconds', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('2s'), 2000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('1min'), 60_000);
  assert.equal(parseDuration('3'), 3000);
  assert.equal(parseDuration('soon'), null);
});

test('sim.guest=ACTION@DURATION, sim.after, defaults and validation', () => {
  const config = defaultConfig();
  assert.deepEqual(
    { ...guestScript(config), consoleLines: undefined },
    { action: 'run', afterMs: 0, times: null, acpi: 'honour', acpiDelayMs: 200, acpiReadyMs: 0, flood: 0, floodBytes: 0, consoleLines: undefined, stderrLines: [] },
  );
  config.set('sim.guest', 'reboot@2s');
  assert.equal(guestScript(config).afterMs, 2000);
  config.set('sim.guest', 'halt');
  config.set('sim.after', '100ms');
  assert.deepEqual([guestScript(config).action, guestScript(config).afterMs], ['halt', 100]);
  config.set('sim.acpi_delay', 'later');
  assert.throws(() => guestScript(config), (error: unknown) => error instanceof SimExit && error.exitCode === 4);
});

test('options apply in order: -o after -k wins, flags set the variables bhyve sets, getopt stops at the name', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bhyvesim-args-'));
  try {
    const file = path.join(dir, 'vm.conf');
    fs.writeFileSync(file, 'memory.size=1G\ncpus=2\n');
    const config = defaultConfig();
    const { operands, configFiles } = parseBhyveArguments(['-AHP', '-D', '-c', '4', '-k', file, '-o', 'memory.size=3G', '-s', '0,hostbridge', '-l', 'com1,stdio', 'web', '-m', '9G'], config);
    assert.deepEqual(operands, ['web', '-m', '9G']);
    assert.deepEqual(configFiles, [file]);
    assert.equal(config.get('memory.size'), '3G');
    assert.equal(config.get('cpus'), '2');
    assert.equal(config.get('destroy_on_poweroff'), 'true');
    assert.equal(config.get('lpc.com1.path'), 'stdio');
    assert.equal(guestCpus(config), 2);
    assert.throws(() => parseBhyveArguments(['-Z', 'web'], defaultConfig()), (error: unknown) => error instanceof SimExit && error.exitCode === 1);
    assert.throws(() => parseBhyveArguments(['-c', 'cpus=2,bogus=1', 'web'], defaultConfig()), (error: unknown) => error instanceof SimExit && error.exitCode === 64);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('paths: the bin scripts exist and are executable; the state dir follows BHYVE_SIM_DIR', () => {
  for (const script of [simBhyvePath(), simBhyvectlPath()]) {
    assert.ok(path.isAbsolute(script));
    fs.accessSync(script, fs.constants.X_OK);
  }
  assert.equal(simStateDir({ BHYVE_SIM_DIR: '/tmp/somewhere' }), '/tmp/somewhere');
  assert.equal(simStateDir({}), path.join(os.tmpdir(), `bhyve-sim-${process.getuid?.() ?? 0}`));
});

test('config lines: no "=", an empty key or an empty value, or an indented "#" is exit 4 with file and line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bhyvesim-conf-'));
  try {
    const file = path.join(dir, 'bad.conf');
    for (const bad of ['no equals sign', '=value', 'key=', ' # not a comment']) {
      fs.writeFileSync(file, `# comment\n\ncpus=1\n${bad}\n`);
      assert.throws(() => loadConfigFile(file, defaultConfig()), (error: unknown) =>
        error instanceof SimExit && error.exitCode === 4 && error.message === `bhyve: ${file} line 4: invalid config option '${bad}'`);
    }
    fs.writeFileSync(file, 'a=1\r\nb=x=y\nlast=no newline');
    const config = defaultConfig();
    loadConfigFile(file, config);
    assert.equal(config.get('a'), '1\r', 'nothing is trimmed');
    assert.equal(config.get('b'), 'x=y');
    assert.equal(config.get('last'), 'no newline');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('topology: cpus must equal sockets*cores*threads; sockets default to cpus', () => {
  const config = defaultConfig();
  config.set('cpus', '4');
  assert.equal(guestCpus(config), 4);
  config.set('sockets', '1');
  config.set('cores', '2');
  assert.throws(() => guestCpus(config), (error: unknown) => error instanceof SimExit && error.exitCode === 4 && /does not match 4 vCPUs/.test(error.message));
  config.set('cores', '4');
  assert.equal(guestCpus(config), 4);
});
