/**
 * What vmstated creates is root's and tells other users nothing: logs 0640, run and log
 * directories 0750 (gid 0), worker sockets and state files 0600; the control socket stays 0666
 * (each request is authorized). An existing run or log directory that others may write, or that
 * is not vmstated's, is refused at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RESTING_STATE_FILE } from '../../src/daemon/resting-state.js';
import { workerFiles } from '../../workers/worker-files.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';
import { NOBODY, envOpenToNobody, requireRoot, shAsNobody } from './hostile.js';

const modeOf = (file: string): number => fs.statSync(file).mode & 0o7777;

test('logs 0640, run and log directories 0750 root:0, worker socket and state files 0600, the control socket 0666; an older 0755/0644 log directory is narrowed', async (t) => {
  const env = envOpenToNobody(t, 'vmstated-sec-modes-');
  fs.mkdirSync(env.logdir, { mode: 0o755 });
  fs.writeFileSync(path.join(env.logdir, 'vmstated.log'), '', { mode: 0o644 });
  env.writeVm('web');
  await env.startDaemon();
  const client = await env.client();
  t.after(() => client.close());
  await client.request('start', { vm: 'web' });

  const files = workerFiles(env.rundir, 'web');
  const expected: [string, number][] = [
    [env.logdir, 0o750],
    [env.rundir, 0o750],
    [path.join(env.logdir, 'vmstated.log'), 0o640],
    [path.join(env.logdir, 'web.log'), 0o640],
    [files.socket, 0o600],
    [files.record, 0o600],
    [files.spec, 0o600],
    [path.join(env.configdir, 'web/bhyve_config.generated'), 0o600],
    [env.sockpath, 0o666],
  ];
  for (const [file, mode] of expected) assert.equal(modeOf(file).toString(8), mode.toString(8), file);
  for (const dir of [env.logdir, env.rundir]) assert.deepEqual([fs.statSync(dir).uid, fs.statSync(dir).gid], [0, 0], dir);
  const look = shAsNobody(`ls '${env.rundir}' '${env.logdir}'`);
  assert.notEqual(look.status, 0, 'another user cannot list the VM names there');

  await client.request('stop', { vm: 'web' });
  const state = path.join(env.rundir, RESTING_STATE_FILE);
  await waitFor('the saved state', () => (fs.existsSync(state) ? true : undefined));
  assert.equal(modeOf(state), 0o600);
});

test('an existing run or log directory writable by others, or not vmstated\'s, is refused at start with a message that says how to fix it', async (t) => {
  requireRoot();
  const env = createVmstatedEnv('vmstated-sec-dirs-');
  t.after(() => env.destroy());
  env.writeVm('web');
  fs.mkdirSync(env.rundir, { mode: 0o777 });
  fs.chmodSync(env.rundir, 0o777);
  const open = await env.runVmstated();
  assert.equal(open.status, 1);
  assert.match(open.stderr, new RegExp(`refusing the run directory ${env.rundir}: it is writable by group and others .*chmod 750`));

  fs.chmodSync(env.rundir, 0o750);
  fs.mkdirSync(env.logdir, { recursive: true, mode: 0o750 });
  fs.chownSync(env.logdir, NOBODY, NOBODY);
  const theirs = await env.runVmstated();
  assert.equal(theirs.status, 1);
  assert.match(theirs.stderr, new RegExp(`refusing the log directory ${env.logdir}: it is owned by uid ${NOBODY}`));
  assert.equal(env.daemonPid(), null, 'it never served');
});
