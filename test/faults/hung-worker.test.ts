/**
 * A VM worker that hangs (SIGSTOP) while its VM runs: a command on the VM fails promptly with
 * `its worker (pid N) does not answer` instead of waiting for the call's bound (minutes), status
 * shows it (by itself, within 30 s), and once the worker answers again (SIGCONT) the VM is stopped as usual.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { ctl } from '../e2e/ctl.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';

type WithWorkerProblem = { workerProblem?: string };

test('a stop on a VM whose worker hangs fails at once with "does not answer"; after SIGCONT a stop works', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  await env.startDaemon();
  const start = await ctl(env, 'start', 'web');
  assert.equal(start.status, 0, start.stderr);
  const { workerPid } = await env.status('web');
  assert.ok(workerPid !== null, 'a running VM has a worker');

  process.kill(workerPid, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(workerPid, 'SIGCONT'); // a stopped process would outlive the env's SIGKILL sweep as a zombie-to-be
    } catch {
      // gone already
    }
  });
  // status says so by itself, before any command is tried: the registry's events poll goes unanswered.
  const noticed = (await env.waitForStatus('web', (s) => (s as WithWorkerProblem).workerProblem !== undefined, 45_000)) as WithWorkerProblem;
  assert.equal(noticed.workerProblem, `its worker (pid ${workerPid}) does not answer`);
  // ctl() gives up after 30 s: without the liveness check the stop waits for the call's bound (about 16 min).
  const stop = await ctl(env, 'stop', 'web');
  assert.equal(stop.status, 1, `stop failed: ${stop.stdout}${stop.stderr}`);
  // The daemon's `VM "web": ...` is printed as `web: ...` (daemonMessage).
  assert.equal(stop.stderr, `vmstatedctl: web: its worker (pid ${workerPid}) does not answer\n`);

  const status = (await env.status('web')) as Awaited<ReturnType<typeof env.status>> & WithWorkerProblem;
  assert.equal(status.state, 'running', 'the VM was not touched');
  assert.equal(status.workerProblem, `its worker (pid ${workerPid}) does not answer`);
  const text = await ctl(env, 'status', 'web');
  assert.match(text.stdout, new RegExp(`^web: its worker \\(pid ${workerPid}\\) does not answer; commands on it fail until it does$`, 'm'));
  assert.match(env.daemonLog(), /web: its worker \(pid \d+\) does not answer/);

  process.kill(workerPid, 'SIGCONT');
  const again = await ctl(env, 'stop', 'web');
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout, 'web: stopped\n');
  const stopped = (await env.status('web')) as Awaited<ReturnType<typeof env.status>> & WithWorkerProblem;
  assert.equal(stopped.state, 'stopped');
  assert.equal(stopped.workerProblem, undefined, 'the note goes once the worker answers');
});

test('a worker that hangs while it carries out a stop fails the stop within the liveness bound; resumed, it finishes the stop', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  const marker = `${env.dir}/stopping-hook-runs`;
  env.writeVm('web', { hooktimeout: '60s' }, { hooks: { stopping: `: > '${marker}'; sleep 3` } });
  await env.startDaemon();
  const start = await ctl(env, 'start', 'web');
  assert.equal(start.status, 0, start.stderr);
  const { workerPid } = await env.status('web');
  assert.ok(workerPid !== null);
  t.after(() => {
    try {
      process.kill(workerPid, 'SIGCONT');
    } catch {
      // gone already
    }
  });

  const client = await env.client();
  t.after(() => client.close());
  const stop = client.request('stop', { vm: 'web' }).then(
    () => 'answered',
    (error: Error) => error.message,
  );
  await waitFor('the stopping hook to run', () => (fs.existsSync(marker) ? true : undefined));
  process.kill(workerPid, 'SIGSTOP');
  // Bounded by ANSWER_DURING_MS + CHECK_EVERY_MS (25 s) after the worker stopped answering.
  const answer = await stop;
  assert.match(answer, new RegExp(`VM "web": its worker \\(pid ${workerPid}\\) does not answer`));

  process.kill(workerPid, 'SIGCONT');
  await env.waitForStatus('web', (status) => status.state === 'stopped', 20_000);
});

test('a reload does not wait on a worker that hangs: the other VMs get their new config at once, the hung one when it answers again', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('db');
  env.writeVm('web');
  await env.startDaemon();
  for (const vm of ['db', 'web']) assert.equal((await ctl(env, 'start', vm)).status, 0);
  const { workerPid } = await env.status('web');
  process.kill(workerPid!, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(workerPid!, 'SIGCONT');
    } catch {
      // gone already
    }
  });

  env.writeVm('db', { description: 'new db' });
  env.writeVm('web', { description: 'new web' });
  const reload = await ctl(env, 'reload');
  assert.equal(reload.status, 0, reload.stderr);
  assert.equal(reload.stdout, 'reloaded: 2 changed (db, web)\n');
  assert.equal((await env.status('db')).configPending, true, 'db has its new config, waiting for its next start');
  assert.match(env.daemonLog(), /cannot pass the new config to the worker/);

  process.kill(workerPid!, 'SIGCONT');
  await waitFor('web\'s worker to take its new config', () => (/configuration changed: it applies at the next start or restart/.test(env.vmLog('web')) ? true : undefined));
});
