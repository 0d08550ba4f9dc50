/**
 * A mistyped command (issue 14): on a terminal, @oclif/plugin-not-found asks "Did you mean ...?";
 * y runs that command with the arguments given, Enter or n ends with the usage error (exit 2).
 * Only the first word is the command: an argument after a typo is not taken for part of its name.
 * vmstatedctl under a pty (test/helpers/pty.ts) against a fake vmstated, found through
 * VMSTATED_SOCKET as in the README's tour.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { underPty } from '../helpers/pty.js';
import { waitFor } from '../helpers/vmstated-env.js';
import { CTL_BIN, runCtl, startFakeDaemon, tempDir, vmStatus } from './fake-daemon.js';

test('on a terminal, a mistyped command asks "Did you mean" the nearest (two swapped letters: stauts is status); y runs it, Enter or n exits 2', async (t) => {
  const fake = await startFakeDaemon(tempDir(t), (request, connection) => connection.reply(request.cmd === 'status' ? [vmStatus('web', { state: 'running', pid: 42 })] : []));
  t.after(() => fake.close());
  const env = { ...process.env, VMSTATED_SOCKET: fake.socketPath };

  const accepted = underPty(`${process.execPath} ${CTL_BIN} stauts web`, { env });
  t.after(() => accepted.child.kill('SIGKILL'));
  await waitFor('the question', () => (/stauts.* is not a vmstatedctl command[^]*Did you mean .*status.*\?.*\(y\/N\)/.test(accepted.output) ? true : undefined));
  accepted.type('y\r');
  assert.equal(await accepted.exitStatus('status to run'), 0, accepted.output);
  assert.match(accepted.output, /^web\s+\x1b\[32mrunning\x1b\[39m\s+42\b/m); // on a terminal: coloured
  assert.deepEqual(fake.requests[0], { ...fake.requests[0], cmd: 'status', args: { vm: 'web' } });
  const afterStatus = fake.requests.length;

  for (const [typo, nearest, answer] of [['strat', 'start', '\r'], ['shutdwon', 'shutdown', '\r'], ['sotp', 'stop', 'n']] as const) {
    const declined = underPty(`${process.execPath} ${CTL_BIN} ${typo} web`, { env });
    t.after(() => declined.child.kill('SIGKILL'));
    await waitFor(`the question for ${typo}`, () => (new RegExp(`Did you mean .*${nearest}.*\\?`).test(declined.output) ? true : undefined));
    declined.type(answer);
    assert.equal(await declined.exitStatus('the usage error'), 2, declined.output);
    assert.match(declined.output, new RegExp(`vmstatedctl: command ${typo} not found\r\n\\(see 'vmstatedctl --help'\\)`));
  }
  assert.equal(fake.requests.length, afterStatus, 'nothing started, stopped or shut down');
});

test('off a terminal a mistyped command is only the usage error, one message, exit 2', async () => {
  for (const command of [['stauts'], ['help'], ['strat', 'web']]) {
    const result = await runCtl(command);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `vmstatedctl: command ${command[0]} not found\n(see 'vmstatedctl --help')\n`);
  }
});

test('an argument a command does not take is named as such, not taken for part of a command name', async () => {
  const result = await runCtl(['reload', 'web']);
  assert.equal(result.code, 2);
  assert.equal(result.stderr, "vmstatedctl: Unexpected argument: web\n(see 'vmstatedctl reload --help')\n");
});
