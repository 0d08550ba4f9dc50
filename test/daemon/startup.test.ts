import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createVmstatedEnv, processesMentioning, waitFor } from '../helpers/vmstated-env.js';
import { isProcessAlive as isAlive } from '../../src/shared/process.js';
import { simBhyvectlPath } from '../../src/bhyvesim/paths.js';
import { BHYVE_SIM_BIN, VMSTATED_BIN } from '../helpers/paths.js';
import { runNode } from '../helpers/run.js';

test('vmstated daemonizes, exits 0 only once it serves, and SIGTERM removes its pidfile and socket', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  const pid = await env.startDaemon();
  assert.notEqual(pid, process.pid);
  assert.equal(isAlive(pid), true);
  assert.equal(fs.statSync(env.sockpath).mode & 0o777, 0o666, 'socket mode 0666');
  const statuses = await (await env.client()).request<Array<{ name: string; state: string }>>('status');
  assert.deepEqual(statuses.map((s) => [s.name, s.state]), [['web', 'stopped']]);
  assert.match(env.daemonLog(), /vmstated serving/);

  // newsyslog renames the log and sends SIGHUP: the daemon reopens vmstated.log.
  const logFile = path.join(env.logdir, 'vmstated.log');
  fs.renameSync(logFile, `${logFile}.0`);
  process.kill(pid, 'SIGHUP');
  await waitFor('a fresh vmstated.log', () => (fs.existsSync(logFile) && /configs reloaded/.test(fs.readFileSync(logFile, 'utf8')) ? true : undefined));
  assert.doesNotMatch(fs.readFileSync(`${logFile}.0`, 'utf8'), /configs reloaded/);

  process.kill(pid, 'SIGTERM');
  await waitFor('the daemon to exit', () => (isAlive(pid) ? undefined : true));
  assert.equal(fs.existsSync(env.pidfile), false, 'pidfile removed');
  assert.equal(fs.existsSync(env.sockpath), false, 'socket removed');
});

test('relative paths on the command line are read from the directory vmstated was started in, also by the daemonized child', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  const relative = (file: string): string => path.relative(env.dir, file);
  const args = ['-c', relative(env.configdir), '-s', relative(env.sockpath), '-p', relative(env.pidfile), '-l', relative(env.logdir), '-r', relative(env.rundir)];
  const started = await runNode(VMSTATED_BIN, [...args, '--bhyve', BHYVE_SIM_BIN, '--bhyvectl', simBhyvectlPath()], { env: env.env, cwd: env.dir, timeoutMs: 30_000 });
  assert.equal(started.status, 0, started.stderr);
  const statuses = await (await env.client()).request<Array<{ name: string }>>('status');
  assert.deepEqual(statuses.map((s) => s.name), ['web'], 'the VMs of ./conf, served on ./vmstated.sock');
  assert.match(env.daemonLog(), /vmstated serving/, 'the log in ./log');
  if (process.platform === 'linux') {
    assert.equal(fs.readlinkSync(`/proc/${env.daemonPid()}/cwd`), '/', 'once serving, the daemon holds no directory but /');
  }
});

test('a startup failure gives a message on stderr and a non-zero exit', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());

  const noConfig = await env.runVmstated(['-c', path.join(env.dir, 'missing')]);
  assert.notEqual(noConfig.status, 0);
  assert.match(noConfig.stderr, /^vmstated: .*missing/m);

  const unbindable = await env.runVmstated(['-s', path.join(env.dir, 'no-such-dir', 'vmstated.sock')]);
  assert.notEqual(unbindable.status, 0);
  assert.match(unbindable.stderr, /^vmstated: cannot bind the control socket .*no-such-dir/m);

  const noPidDir = await env.runVmstated(['-p', path.join(env.dir, 'no-such-dir', 'vmstated.pid')]);
  assert.notEqual(noPidDir.status, 0);
  assert.match(noPidDir.stderr, /^vmstated: cannot write the pidfile .*no-such-dir/m);
  assert.equal(fs.existsSync(env.sockpath), false, 'the socket bound before is removed again');

  const foreground = await env.runVmstated(['-f', '-s', path.join(env.dir, 'no-such-dir', 'x.sock')]);
  assert.notEqual(foreground.status, 0, 'in the foreground too');
  assert.match(foreground.stderr, /cannot bind the control socket/);
  assert.equal(fs.existsSync(env.pidfile), false, 'no pidfile after a failed start');
  await waitFor('every failed daemon to exit', () => (processesMentioning(env.dir).length === 0 ? true : undefined), 10_000);
});

test('a second instance refuses to start; the first keeps serving', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  const first = await env.startDaemon();
  const second = await env.runVmstated();
  assert.notEqual(second.status, 0);
  assert.match(second.stderr, new RegExp(`already serving .*\\(pid ${first},`));
  assert.equal(env.daemonPid(), first, 'the pidfile still names the first daemon');
  assert.equal((await (await env.client()).request<unknown[]>('status')).length, 1);
});

test('a stale pidfile and a stale socket left by a crash do not block a start', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  // A socket file nobody listens on any more: its owner was SIGKILLed.
  const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(env.sockpath)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise((resolve) => holder.stdout.once('data', resolve));
  holder.kill('SIGKILL');
  await new Promise((resolve) => holder.once('exit', resolve));
  assert.equal(fs.statSync(env.sockpath).isSocket(), true);
  // A pidfile naming a process that is gone.
  const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  fs.writeFileSync(env.pidfile, gone.stdout);

  const pid = await env.startDaemon();
  assert.notEqual(String(pid), gone.stdout.trim());
  assert.equal((await (await env.client()).request<unknown[]>('status')).length, 1);
});
