import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VMSTATED_BIN } from '../helpers/paths.js';
import { runNode } from '../helpers/run.js';
import { DEFAULTS, UsageError, parseOptions } from '../../src/daemon/options.js';
import { EX_USAGE } from '../../src/shared/sysexits.js';

test('vmstated -h prints the usage summary on stdout and exits 0', async () => {
  const result = await runNode(VMSTATED_BIN, ['-h']);
  assert.equal(result.status, 0);
  assert.match(result.stdout, /^usage: vmstated \[-hfvn\] \[-c configdir\]/);
  assert.match(result.stdout, /--bhyvectl path/);
  assert.equal(result.stderr, '');
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
  const options = parseOptions(['-fvn', '-c', 'conf', '-s', '/tmp/x.sock', '--bhyve', 'sim/bhyve', '--bhyvectl', 'bhyvectl'], '/home/me');
  assert.equal(options.configdir, '/home/me/conf');
  assert.equal(options.sockpath, '/tmp/x.sock');
  assert.equal(options.bhyve, '/home/me/sim/bhyve');
  assert.equal(options.bhyvectl, 'bhyvectl', 'a bare program name is left to PATH');
  assert.deepEqual([options.foreground, options.verbose, options.checkOnly], [true, true, true]);
  assert.throws(() => parseOptions(['-c', '']), UsageError);
});
