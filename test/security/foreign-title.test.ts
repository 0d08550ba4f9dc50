/**
 * A process title is no VM: any user may call a process `bhyve: web`, but only root (or, where
 * /dev/vmmctl is open to its group, that group) can run one. An unprivileged user whose process
 * bears the title of our VM web, with the simulator's tag of our kernel, while web's instance is
 * left over, does not stop vmstated from starting web (workers/foreign-instance.ts). Nor is such a
 * process, or one that shows the command line vmstated launched web's bhyve with, ever taken over as
 * web's bhyve when a worker record names its pid (workers/run-check.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readVmmRecord } from '../../src/bhyvesim/record.js';
import { simProcessTitle } from '../../src/bhyvesim/title.js';
import { readProcessTable } from '../../src/shared/process-table.js';
import { BHYVECTL_SIM_BIN } from '../helpers/paths.js';
import { runNode } from '../helpers/run.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/vmstated-env.js';
import { checkRun } from '../../workers/run-check.js';
import type { BhyveRun } from '../../workers/api.js';
import { ctl, ctlStatus } from '../e2e/ctl.js';
import { NOBODY, envOpenToNobody, shAsNobodyInBackground } from './hostile.js';

test("nobody's process titled as our VM's bhyve blocks nothing: the start destroys the leftover instance and launches", async (t) => {
  const env = envOpenToNobody(t, 'vmstated-sec-title-');
  env.writeVm('web');
  const created = await runNode(BHYVECTL_SIM_BIN, ['--vm=web', '--create'], { env: env.env });
  assert.equal(created.status, 0, created.stderr);
  assert.notEqual(readVmmRecord('web', env.simdir), null, 'a leftover instance of web, with no bhyve');

  const title = simProcessTitle('web', env.simdir);
  const impostor = shAsNobodyInBackground(`exec ${process.execPath} -e 'process.title = ${JSON.stringify(title)}; setInterval(() => {}, 1000)'`);
  t.after(() => impostor.stop());
  const posing = await waitFor(`nobody's process to call itself "${title}"`, async () =>
    (await readProcessTable()).find((entry) => entry.args === title && entry.uid === NOBODY));

  await env.startDaemon();
  const start = await ctl(env, 'start', 'web');
  assert.equal(start.status, 0, start.stderr);
  const status = await ctlStatus(env, 'web');
  assert.equal(status.state, 'running');
  assert.notEqual(status.pid, posing.pid, 'web runs its own bhyve');
});

test("nobody's process showing web's launch command line, under the pid a worker record names, is never taken over as web's bhyve; root's is", async (t) => {
  const rundir = tempDir(t);
  const launched = ['/usr/sbin/bhyve', '-k', '/usr/local/etc/vmstated/web/bhyve_config.generated', 'web'];
  const looksLaunched = ['sh', '-c', 'sleep 60', ...launched]; // ps: `sh -c sleep 60 /usr/sbin/bhyve -k ... web`
  const recordOf = (pid: number, startedAt: string | null): BhyveRun =>
    ({ bhyvePid: pid, bhyveStartedAt: startedAt, keeperPid: null, keeperStartedAt: null, argv: launched, output: { stdout: 0, stderr: 0 } });
  const find = (uid: number) => waitFor(`uid ${uid}'s look-alike in the process table`, async () =>
    (await readProcessTable()).find((entry) => entry.uid === uid && entry.args.endsWith(launched.join(' '))));

  const impostor = shAsNobodyInBackground(`exec ${looksLaunched.map((word) => `'${word}'`).join(' ')}`);
  t.after(() => impostor.stop());
  const posing = await find(NOBODY);
  for (const startedAt of [null, posing.startedAt]) {
    const adoption = await checkRun('web', rundir, recordOf(posing.pid, startedAt));
    assert.equal(adoption.kind, 'stale', `a record with start time ${startedAt}`);
  }

  const own = spawn(looksLaunched[0]!, looksLaunched.slice(1), { stdio: 'ignore' });
  t.after(async () => {
    own.kill('SIGKILL');
    await once(own, 'exit');
  });
  const ours = await find(process.getuid!());
  assert.equal((await checkRun('web', rundir, recordOf(ours.pid, ours.startedAt))).kind, 'unkept', 'the same, as our user, is web\'s bhyve');
});
