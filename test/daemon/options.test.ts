import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VMSTATED_BIN } from '../helpers/paths.js';
import { runNode } from '../helpers/run.js';
import { DEFAULTS, UsageError, parseOptions } from '../../src/daemon/options.js';
import { EX_USAGE } from '../../src/shared/sysexits.js';

test('vmstated -h prints the usage summary on stdout and exits 0', async () => {
  const result = await runNode(VMSTATED_BIN, ['-h']);
  assert.equal(result.status, 0);
  assert.match(result.stdout, /^usage: vmstated \[-hfvnV\] \[-c configdir\]/);
  assert.match(result.stdout, /--bhyvectl path/);
  assert.equal(result.stderr, '');
});

test('vmstated --help is -h; -V and --version print the version', async () => {
  const help = await runNode(VMSTATED_BIN, ['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: vmstated /);
  for (const flag of ['-V', '--version']) {
    const version = await runNode(VMSTATED_BIN, [flag]);
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^vmstated \d+\.\d+\.\d+\n$/);
  }
});

test('a missing value or an unknown option is named as it was typed', async () => {
  for (const [args, problem] of [[['-c'], 'option -c needs a value'], [['--bhyve'], 'option --bhyve needs a value'], [['-x'], 'unknown option -x']] as const) {
    const result = await runNode(VMSTATED_BIN, [...args]);
    assert.equal(result.status, EX_USAGE);
    assert.equal(result.stderr.split('\n')[0], `vmstated: ${problem}`);
  }
});

test('a bad command line prints the problem and the usage on stderr and exits 64 (EX_USAGE)', async () => {
  for (const args of [['-x'], ['-c'], ['stray'], ['--bhyve']]) {
    const result = await runNode(VMSTATED_BIN, args);
    assert.equal(result.status, EX_USAGE, `vmstated ${args.join(' ')}`);
    assert.match(result.stderr, /^vmstated: .+\nusage: vmstated/, `vmstated ${args.join(' ')}`);
    assert.equal(result.stdout, '');
  }
});

test('the defaults are those of DESIGN.md section 6', () => {
  const options = parseOptions([]);
  assert.equal(options.configdir, '/usr/local/etc/vmstated');
  assert.equal(options.pidfile, '/var/run/vmstated.pid');
  assert.equal(options.sockpath, '/var/run/vmstated.sock');
  assert.equal(options.logdir, '/var/log/vmstated');
  assert.equal(options.rundir, '/var/run/vmstated');
  assert.equal(options.bhyve, DEFAULTS.bhyve);
  assert.equal(options.bhyvectl, '/usr/sbin/bhyvectl');
  assert.deepEqual([options.help, options.foreground, options.verbose, options.checkOnly], [false, false, false, false]);
});

test('relative paths are made absolute against the working directory; flags combine', () => {
  const options = parseOptions(['-fvn', '-c', 'conf', '-s', '/tmp/x.sock', '--bhyve', 'sim/bhyve'], '/home/me');
  assert.equal(options.configdir, '/home/me/conf');
  assert.equal(options.sockpath, '/tmp/x.sock');
  assert.equal(options.bhyve, '/home/me/sim/bhyve');
  assert.deepEqual([options.foreground, options.verbose, options.checkOnly], [true, true, true]);
  assert.throws(() => parseOptions(['-c', '']), UsageError);
});

test('--bhyve and --bhyvectl given as bare names are looked up in PATH at startup, and refused when not there', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstated-path-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(path.join(dir, 'bin', 'fake-bhyve'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'bin', 'not-executable'), '', { mode: 0o644 });
  const searchPath = `/nonexistent:${path.join(dir, 'bin')}`;
  const options = parseOptions(['--bhyve', 'fake-bhyve', '--bhyvectl', 'fake-bhyve'], '/', searchPath);
  assert.equal(options.bhyve, path.join(dir, 'bin', 'fake-bhyve'));
  assert.equal(options.bhyvectl, path.join(dir, 'bin', 'fake-bhyve'));
  assert.throws(() => parseOptions(['--bhyve', 'not-executable'], '/', searchPath), /option --bhyve: no executable not-executable in PATH/);
  assert.throws(() => parseOptions(['--bhyvectl', 'missing'], '/', searchPath), /option --bhyvectl: no executable missing in PATH/);
});
