/**
 * Rotation only rotates (issue #13): newsyslog's SIGUSR1 reopens the daemon log and every VM log
 * and reloads nothing; SIGHUP still reloads (and reopens). A socket path too long for FreeBSD's
 * sun_path is refused at start, naming the path, its length and the limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { VmEvent } from '../../src/protocol/types.js';
import { MAX_SOCKET_PATH_BYTES } from '../../src/shared/socket-path.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';

test('SIGUSR1 reopens the daemon log and the VM logs and does not reload; SIGHUP reloads', { timeout: 60_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-usr1-');
  t.after(() => env.destroy());
  env.writeVm('web');
  const pid = await env.startDaemon();
  const client = await env.client();
  t.after(() => client.close());
  const events: VmEvent[] = [];
  const watcher = await env.client();
  t.after(() => watcher.close());
  void watcher.events((event) => events.push(event));
  await client.request('start', { vm: 'web' });
  await waitFor('the event stream to carry the start', () => (events.some((event) => event.type === 'state' && event.state === 'running') ? true : undefined));

  const daemonLog = path.join(env.logdir, 'vmstated.log');
  const vmLog = path.join(env.logdir, 'web.log');
  fs.renameSync(daemonLog, `${daemonLog}.0`);
  fs.renameSync(vmLog, `${vmLog}.0`);
  env.writeVm('late'); // a reload would add it
  process.kill(pid, 'SIGUSR1');
  await waitFor('both logs reopened', () => (fs.existsSync(vmLog) && /SIGUSR1: logs reopened/.test(env.daemonLog()) ? true : undefined));
  await client.request('stop', { vm: 'web' });
  assert.match(env.vmLog('web'), /running -> stopping/, 'the VM log goes on in the new file');
  assert.doesNotMatch(fs.readFileSync(`${vmLog}.0`, 'utf8'), /running -> stopping/);
  const listed = await client.request<Array<{ name: string }>>('status');
  assert.deepEqual(listed.map((vm) => vm.name), ['web'], 'no reload: the new VM is not there');

  process.kill(pid, 'SIGHUP');
  await waitFor('the reload', () => (events.some((event) => event.type === 'vm-added' && event.vm === 'late') ? true : undefined));
  // Reloads run one after another: one SIGUSR1 had made, its event would have come first.
  assert.equal(events.filter((event) => event.type === 'config').length, 1, 'SIGHUP reloaded once; SIGUSR1 never');
  assert.doesNotMatch(env.daemonLog().split('SIGHUP')[0]!, /configs reloaded/);
});

test('a socket path longer than FreeBSD\'s sun_path allows is refused at start, by name, length and limit', async (t) => {
  const env = createVmstatedEnv('vmstated-sun-');
  t.after(() => env.destroy());
  env.writeVm('web');
  const longSocket = path.join(env.dir, `${'s'.repeat(MAX_SOCKET_PATH_BYTES)}.sock`);
  const bytes = Buffer.byteLength(longSocket);
  const refused = await env.runVmstated(['-s', longSocket]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, new RegExp(`the control socket \\(-s\\) ${longSocket} is ${bytes} bytes long; a Unix socket path may have at most 103`));

  // The run dir must hold <rundir>/<31-character VM name>.sock: 103 - 1 - 31 - 5 = 66 bytes at most.
  const deepRun = path.join(env.dir, 'r'.repeat(Math.max(1, 67 - env.dir.length - 1)));
  assert.equal(Buffer.byteLength(deepRun), 67);
  const deep = await env.runVmstated(['-r', deepRun]);
  assert.equal(deep.status, 1);
  assert.match(deep.stderr, new RegExp(`the run directory \\(-r\\) ${deepRun} is too long for the sockets in it: .* would be 104 bytes long`));
  assert.equal(fs.existsSync(env.sockpath), false, 'nothing was bound');
});
