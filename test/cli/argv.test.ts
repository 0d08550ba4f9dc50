import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moveGlobalOptionsAfterCommand } from '../../src/cli/argv.js';
import { describeTopLevelError } from '../../src/cli/main.js';
import { formatBytes, formatDuration, formatTable } from '../../src/cli/format.js';

test('global options before the command move behind the command id', () => {
  assert.deepEqual(moveGlobalOptionsAfterCommand(['-s', '/tmp/x.sock', '--json', 'status', 'web']), [
    'status', '-s', '/tmp/x.sock', '--json', 'web',
  ]);
  assert.deepEqual(moveGlobalOptionsAfterCommand(['-s/tmp/x.sock', 'start', 'web']), ['start', '-s/tmp/x.sock', 'web']);
  assert.deepEqual(moveGlobalOptionsAfterCommand(['--socket=/x', 'stop', 'a']), ['stop', '--socket=/x', 'a']);
  assert.deepEqual(moveGlobalOptionsAfterCommand(['--socket', '/x', 'reload']), ['reload', '--socket', '/x']);
});

test('argv without leading global options is left alone', () => {
  assert.deepEqual(moveGlobalOptionsAfterCommand(['status', '-s', '/x', '--json']), ['status', '-s', '/x', '--json']);
  assert.deepEqual(moveGlobalOptionsAfterCommand([]), []);
  // No command after the options, or an unknown option first: oclif reports it.
  assert.deepEqual(moveGlobalOptionsAfterCommand(['--json']), ['--json']);
  assert.deepEqual(moveGlobalOptionsAfterCommand(['-s', '/x', '--help']), ['-s', '/x', '--help']);
  assert.deepEqual(moveGlobalOptionsAfterCommand(['-x', 'status']), ['-x', 'status']);
  // A VM named like an option value after the command is not touched.
  assert.deepEqual(moveGlobalOptionsAfterCommand(['--json', 'start', '--json']), ['start', '--json', '--json']);
});

test('top-level errors: usage errors exit 2, this.exit keeps its code silently, others are internal', () => {
  assert.deepEqual(describeTopLevelError({ message: 'x', code: 'EEXIT', oclif: { exit: 1 } }), { exit: 1, message: null });
  const usage = describeTopLevelError({ message: 'Missing 1 required arg:\nSee more help with --help', oclif: { exit: 2 } });
  assert.equal(usage.exit, 2);
  assert.match(usage.message!, /^vmstatedctl: Missing 1 required arg:\n\(see 'vmstatedctl --help'\)$/);
  const inCommand = describeTopLevelError({ message: 'Nonexistent flag: --bogus\nSee more help with --help', oclif: { exit: 2 } }, 'start');
  assert.match(inCommand.message!, /^vmstatedctl: Nonexistent flag: --bogus\n\(see 'vmstatedctl start --help'\)$/);
  const internal = describeTopLevelError(new TypeError('boom'));
  assert.equal(internal.exit, 1);
  assert.match(internal.message!, /^vmstatedctl: internal error: TypeError: boom/);
});

test('format helpers', () => {
  assert.equal(formatDuration(42), '42s');
  assert.equal(formatDuration(303), '5m03s');
  assert.equal(formatDuration(7500), '2h05m');
  assert.equal(formatDuration(3 * 86400 + 4 * 3600 + 59), '3d04h');
  assert.equal(formatBytes(512), '512B');
  assert.equal(formatBytes(4 * 1024 ** 3), '4.0G');
  assert.equal(formatTable(['A', 'BB'], [['long', 'x'], ['s', '']]), 'A     BB\nlong  x\ns');
});

test('daemon messages lose the request and VM prefixes vmstatedctl shows its own way', async () => {
  const { daemonMessage } = await import('../../src/cli/base-command.js');
  const error = (message: string): Error => new Error(message);
  assert.equal(daemonMessage(error('request 3 (start): VM "web": hook start_network exited 1'), 'web'), 'hook start_network exited 1');
  assert.equal(daemonMessage(error('request 4 (start): VM "build": in failure mode (hook failed); run failreset first'), 'build'), 'in failure mode (hook failed); run failreset first');
  assert.equal(daemonMessage(error('request 1 (status): no VM named "ghost"'), 'ghost'), 'no VM named "ghost"');
  assert.equal(daemonMessage(error('request 2 (reload): only root may reload')), 'only root may reload');
  // A validation message has no colon after the request: it stays whole.
  assert.equal(daemonMessage(error('request 1 (start) unknown argument "x"')), 'request 1 (start) unknown argument "x"');
  assert.equal(daemonMessage(error('VM "db": x'), 'web'), 'VM "db": x');
});
