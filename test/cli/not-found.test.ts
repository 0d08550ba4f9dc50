/**
 * A mistyped command (issue 14): on a terminal, @oclif/plugin-not-found asks "Did you mean ...?"
 * and Enter runs that command with the arguments given; n ends with the usage error (exit 2).
 * vmstatedctl under a pty (test/helpers/pty.ts) against a fake vmstated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { underPty } from '../helpers/pty.js';
import { waitFor } from '../helpers/vmstated-env.js';
import { CTL_BIN, runCtl, startFakeDaemon, tempDir, vmStatus } from './fake-daemon.js';

test('on a terminal, a mistyped command asks "Did you mean" the nearest (two swapped letters: stauts is status); Enter runs it, n exits 2', async (t) => {
  const fake = await startFakeDaemon(tempDir(t), (request, connection) => connection.reply(request.cmd === 'status' ? [vmStatus('web', { state: 'running', pid: 42 })] : []));
  t.after(() => fake.close());

  const accepted = underPty(`${process.execPath} ${CTL_BIN} -s ${fake.socketPath} stauts`);
  t.after(() => accepted.child.kill('SIGKILL'));
  await waitFor('the question', () => (/stauts.* is not a vmstatedctl command[^]*Did you mean .*status.*\?/.test(accepted.output) ? true : undefined));
  accepted.type('\r');
  assert.equal(await accepted.exitStatus('status to run'), 0, accepted.output);
  assert.match(accepted.output, /^web\s+\x1b\[32mrunning\x1b\[39m\s+42\b/m); // on a terminal: coloured
  const afterStatus = fake.requests.length;
  assert.equal(fake.requests[0]?.cmd, 'status');

  const declined = underPty(`${process.execPath} ${CTL_BIN} -s ${fake.socketPath} strat web`);
  t.after(() => declined.child.kill('SIGKILL'));
  await waitFor('the question', () => (/Did you mean .*start.*\?/.test(declined.output) ? true : undefined));
  declined.type('n\r');
  assert.equal(await declined.exitStatus('the usage error'), 2, declined.output);
  assert.match(declined.output, /vmstatedctl: command strat not found\r\n\(see 'vmstatedctl --help'\)/);
  assert.equal(fake.requests.length, afterStatus, 'nothing started');
});

test('off a terminal a mistyped command is only the usage error, one message, exit 2', async () => {
  for (const command of ['stauts', 'help']) {
    const result = await runCtl([command]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `vmstatedctl: command ${command} not found\n(see 'vmstatedctl --help')\n`);
  }
});
