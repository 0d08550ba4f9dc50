/**
 * A FIFO where vmstated expects a file (a config, a bhyve config, a hook) wedges nothing: the
 * check, the daemon's start, a reload, a start, shutdown and a fresh daemon all complete.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ReloadSummary } from '../../src/daemon/reload.js';
import { isProcessAlive } from '../../src/shared/process.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';

function fifoInstead(file: string): void {
  fs.rmSync(file, { force: true });
  execFileSync('mkfifo', [file]);
}

test('FIFOs as a config, a bhyve config and a hook: vmstated -n, start-up, reload, start, shutdown and a fresh daemon all complete', async (t) => {
  const env = createVmstatedEnv('vmstated-sec-fifo-');
  t.after(() => env.destroy());
  fifoInstead(path.join(env.writeVm('fifoconf'), 'config'));
  fifoInstead(path.join(env.writeVm('fifobhyve'), 'bhyve_config'));
  fifoInstead(path.join(env.writeVm('fifohook'), 'start_network'));
  const ok = env.writeVm('ok');

  const check = await env.runVmstated(['-n']);
  assert.equal(check.status, 1);
  assert.ok(check.stderr.includes(`${env.configdir}/fifoconf/config: error: ${env.configdir}/fifoconf/config is a FIFO, not a regular file`), check.stderr);
  assert.match(check.stderr, /fifobhyve\/config:\d+:\d+: error: bhyve config file .*fifobhyve\/bhyve_config is a FIFO, not a regular file/);
  assert.match(check.stderr, /fifohook\/start_network: warning: hook script start_network is not an executable file/);

  const first = await env.startDaemon();
  const client = await env.client();
  t.after(() => client.close());
  const summary = await client.request<ReloadSummary>('reload');
  assert.equal(summary.errors, 2);
  await client.request('start', { vm: 'fifohook' }); // the FIFO is not a hook: skipped, as a non-executable file
  // Made a FIFO after the load: the launch refuses it and says so.
  fifoInstead(path.join(ok, 'bhyve_config'));
  await assert.rejects(client.request('start', { vm: 'ok' }), /bhyve_config is a FIFO, not a regular file/);

  await client.request('shutdown');
  await waitFor('the daemon to exit', () => (isProcessAlive(first) ? undefined : true));
  const second = await env.startDaemon();
  assert.notEqual(second, first);
  assert.equal((await env.status('fifohook')).state, 'stopped', 'the fresh daemon serves');
});
