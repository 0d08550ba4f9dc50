/** In-process checks of the command set and of the live progress display (no daemon needed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { EXIT_STATUS_HELP } from '../../src/cli/exit-codes.js';
import { ProgressDisplay, describeEvent } from '../../src/cli/progress.js';
import { interpretResult } from '../../src/cli/vm-action.js';
import { renderStatus } from '../../src/cli/status-view.js';
import { vmStatus } from './fake-daemon.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const COMMANDS = ['console', 'events', 'failreset', 'logs', 'metrics', 'reload', 'restart', 'shutdown', 'start', 'status', 'stop', 'top'];

test('every command has a summary, examples, the exit statuses, -s and --json', async () => {
  const config = await Config.load(ROOT);
  assert.deepEqual(config.commandIDs.slice().sort(), COMMANDS);
  for (const id of COMMANDS) {
    const command = config.findCommand(id)!;
    assert.ok(command.summary, `${id}: summary`);
    assert.ok(command.description?.endsWith(EXIT_STATUS_HELP), `${id}: exit statuses in the description`);
    assert.ok((command.examples ?? []).length > 0, `${id}: examples`);
    assert.equal(command.flags.socket?.char, 's', `${id}: -s`);
    assert.equal(command.flags.socket?.type === 'option' && command.flags.socket.env, 'VMSTATED_SOCKET', `${id}: env`);
    assert.ok(command.flags.json, `${id}: --json`);
  }
  for (const id of ['start', 'stop', 'restart']) {
    const wait = config.findCommand(id)!.flags.wait;
    assert.ok(wait?.type === 'boolean' && wait.allowNo, `${id}: --no-wait`);
  }
});

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

test('progress: transitions of the watched VMs only, and a countdown to the forced power-off', () => {
  const out = collect();
  let now = Date.parse('2026-01-01T10:00:00Z');
  const display = new ProgressDisplay(new Set(['web']), out.stream, () => now);
  display.onEvent({ type: 'state', vm: 'db', state: 'stopping', previous: 'running', reason: 'stop', time: '2026-01-01T10:00:00Z' });
  assert.equal(out.text(), '', 'another VM is not shown');
  display.onEvent({
    type: 'state', vm: 'web', state: 'stopping', previous: 'running', reason: 'stop',
    time: '2026-01-01T10:00:00Z', forceAt: '2026-01-01T10:01:00Z',
  });
  assert.match(out.text(), /web: running -> stopping \(stop\)\n/);
  assert.ok(out.text().endsWith('\r\x1b[Kwaiting for the guest to power off; web: forced power-off in 60s'), JSON.stringify(out.text()));
  now += 18_000;
  display.onEvent({ type: 'exit', vm: 'web', pid: 9, exit: { code: 1, signal: null, meaning: 'powered off' }, time: '2026-01-01T10:00:18Z' });
  assert.match(out.text(), /\r\x1b\[Kwaiting .*\r\x1b\[K\d\d:\d\d:\d\d web: bhyve pid 9 exited: powered off\n/);
  assert.ok(out.text().endsWith('web: forced power-off in 42s'), 'the countdown is redrawn below the new line');
  now += 43_000;
  display.onEvent({ type: 'hook', vm: 'web', hook: 'stopping', exitCode: 0, signal: null, durationMs: 5, ok: true, time: '2026-01-01T10:01:01Z' });
  assert.ok(out.text().endsWith('web: power-off forced, waiting for bhyve to exit'), 'past the deadline');
  display.onEvent({ type: 'state', vm: 'web', state: 'stop_storage', previous: 'stopping', reason: 'stop', time: '2026-01-01T10:00:18Z' });
  assert.ok(out.text().endsWith('web: stopping -> stop_storage (stop)\n'), 'the countdown is gone once stopping is over');
  display.stop();
});

test('event wording names hooks, launches and failures', () => {
  const time = '2026-01-01T10:00:00Z';
  assert.match(describeEvent({ type: 'hook', vm: 'web', hook: 'start_network', exitCode: 1, signal: null, durationMs: 1500, ok: false, time })!,
    /web: hook start_network failed with exit 1 \(1\.5s\)$/);
  assert.match(describeEvent({ type: 'launch', vm: 'web', pid: 12, time })!, /web: bhyve started, pid 12$/);
  assert.match(describeEvent({ type: 'state', vm: 'web', state: 'failed', previous: 'start_network', reason: 'failure', failureReason: 'hook start_network exited 1', time })!,
    /web: start_network -> failed \(failure\): hook start_network exited 1$/);
  assert.equal(describeEvent({ type: 'config', problems: 0, time }), null);
});

test('action outcomes: command outcomes, bare status, and a VM left failed', () => {
  assert.deepEqual(interpretResult('web', 'start', { ok: true, status: vmStatus('web', { state: 'running' }) }),
    { vm: 'web', ok: true, state: 'running', error: null });
  assert.deepEqual(interpretResult('web', 'start', { ok: false, status: vmStatus('web', { state: 'failed', failureReason: 'r' }) }),
    { vm: 'web', ok: false, state: 'failed', error: 'r' });
  assert.deepEqual(interpretResult('web', 'stop', vmStatus('web', { state: 'failed', failureReason: 'stop_storage hook failed' })),
    { vm: 'web', ok: false, state: 'failed', error: 'stop_storage hook failed' });
  assert.deepEqual(interpretResult('web', 'failreset', vmStatus('web', { state: 'stopped' })),
    { vm: 'web', ok: true, state: 'stopped', error: null });
  assert.deepEqual(interpretResult('web', 'start', null), { vm: 'web', ok: true, state: null, error: null });
});

test('status without any VM says so below the header', () => {
  assert.equal(
    renderStatus([], []),
    'NAME  STATE  PID  UPTIME  RESTARTS  OWNER  DESCRIPTION\n\nNo VMs: none is configured, or none that you may see.\n',
  );
});
