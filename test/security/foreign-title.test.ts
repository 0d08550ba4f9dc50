/**
 * A process title is no VM: any user may call a process `bhyve: web`, but only root (or, where
 * /dev/vmmctl is open to its group, that group) can run one. An unprivileged user whose process
 * bears the title of our VM web, with the simulator's tag of our kernel, while web's instance is
 * left over, does not stop vmstated from starting web (workers/foreign-instance.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readVmmRecord } from '../../src/bhyvesim/record.js';
import { simProcessTitle } from '../../src/bhyvesim/title.js';
import { readProcessTable } from '../../src/shared/process-table.js';
import { BHYVECTL_SIM_BIN } from '../helpers/paths.js';
import { runNode } from '../helpers/run.js';
import { waitFor } from '../helpers/vmstated-env.js';
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
