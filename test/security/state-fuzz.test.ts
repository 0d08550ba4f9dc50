/**
 * Fuzzing the files vmstated keeps in its run directory and reads back: the saved state
 * (`vmstated.state.json`), worker records (`<vm>.worker.json`) and worker specs
 * (`<vm>.spec.json`). Seeded random and hostile content (cut, binary, nested too deep, wrong
 * types, FIFOs, links, too large): each is a refusal or a clear error, never a crash, a hang, a
 * file removed outside the run directory, or a half-started VM. (The VM configs and bhyve configs
 * are fuzzed in test/faults/config-fuzz.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { RESTING_STATE_FILE, RestingStateStore } from '../../src/daemon/resting-state.js';
import { isProcessAlive } from '../../src/shared/process.js';
import { MAX_STATE_BYTES } from '../../src/shared/safe-read.js';
import { workerFiles } from '../../workers/worker-files.js';
import { hostileJsonText, pick, SPECIAL_SHAPES, writeSpecial } from '../helpers/hostile-files.js';
import { PROJECT_ROOT } from '../helpers/paths.js';
import { seededRandom } from '../helpers/random.js';
import { runNode } from '../helpers/run.js';
import { tempDir } from '../helpers/temp-dir.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';

const SEED = 0x5eca7e;
const silent = pino({ level: 'silent' });
const WORKER_BUNDLE = path.join(PROJECT_ROOT, 'dist/workers/worker.cjs');

const SANE_STATE = { v: 1, vms: { web: { state: 'failed', failureReason: 'hook start_network failed: exit 1', lastExit: null, since: '2026-01-01T00:00:00.000Z', restarts: 2 } } };

test('the saved state: 200 seeded hostile files and every special one load as the valid records only, or none, never a throw', (t) => {
  const dir = tempDir(t, 'vmstated-state-fuzz-');
  const store = new RestingStateStore(dir, silent);
  const file = path.join(dir, RESTING_STATE_FILE);
  const random = seededRandom(SEED);
  for (let round = 0; round < 200; round++) {
    fs.rmSync(file, { recursive: true, force: true });
    fs.writeFileSync(file, hostileJsonText(random, SANE_STATE));
    const saved = store.load();
    for (const [name, record] of saved) {
      assert.ok(['stopped', 'failed'].includes(record.state) && Number.isInteger(record.restarts) && record.restarts >= 0, `round ${round} (seed ${SEED}): ${name} ${JSON.stringify(record)}`);
      assert.ok(!Number.isNaN(Date.parse(record.since)), `round ${round}: since`);
    }
  }
  for (const shape of SPECIAL_SHAPES) {
    writeSpecial(file, shape, MAX_STATE_BYTES + 1);
    assert.deepEqual([...store.load()], [], shape);
  }
});

test('a daemon starting on a run directory full of hostile records, specs and saved state serves, removes only its own stale files, starts no VM', { timeout: 120_000 }, async (t) => {
  const env = createVmstatedEnv('vmstated-state-fuzz-');
  t.after(() => env.destroy());
  env.writeVm('web');
  env.writeVm('db');
  const canary = path.join(env.dir, 'canary'); // a record names it as its socket: it must survive
  const random = seededRandom(SEED + 1);
  const deadPid = 2 ** 22 + 12345; // above Linux's and FreeBSD's pid_max: never a live process
  for (let round = 0; round < 3; round++) {
    fs.writeFileSync(canary, 'still here');
    fs.mkdirSync(env.rundir, { recursive: true, mode: 0o750 });
    const stateFile = path.join(env.rundir, RESTING_STATE_FILE);
    const hostile = (vm: string): string => hostileJsonText(random, { vm, workerPid: deadPid, bhyvePid: deadPid, socket: canary, startedAt: 'x', restartHistory: [1] });
    fs.writeFileSync(stateFile, hostileJsonText(random, SANE_STATE));
    fs.writeFileSync(workerFiles(env.rundir, 'web').record, hostile('web'));
    fs.writeFileSync(workerFiles(env.rundir, 'db').record, JSON.stringify({ vm: 'db', workerPid: deadPid, bhyvePid: null, socket: canary }));
    fs.writeFileSync(workerFiles(env.rundir, 'ghost').record, hostile('ghost'));
    fs.writeFileSync(workerFiles(env.rundir, 'ghost').spec, hostileJsonText(random, { vm: { name: 'ghost' }, rundir: env.rundir }));
    fs.writeFileSync(path.join(env.rundir, '...worker.json'), hostile('..'));
    writeSpecial(workerFiles(env.rundir, 'odd').record, pick(random, SPECIAL_SHAPES), MAX_STATE_BYTES + 1);

    const daemon = await env.startDaemon();
    const client = await env.client();
    const statuses = await client.request<Array<{ name: string; state: string; pid: number | null }>>('status');
    assert.deepEqual(statuses.map((s) => [s.name, s.pid]).sort(), [['db', null], ['web', null]], `round ${round} (seed ${SEED + 1}): no VM started, no ghost adopted`);
    assert.ok(statuses.every((s) => s.state === 'stopped' || s.state === 'failed'), JSON.stringify(statuses));
    assert.equal(fs.readFileSync(canary, 'utf8'), 'still here', 'nothing outside the run directory was removed');
    for (const vm of ['web', 'db', 'ghost']) assert.equal(fs.existsSync(workerFiles(env.rundir, vm).record), false, `${vm}'s stale record is gone`);
    await client.request('shutdown');
    client.close();
    await waitFor('the daemon to exit', () => (isProcessAlive(daemon) ? undefined : true));
    fs.rmSync(env.rundir, { recursive: true, force: true });
  }
});

test('a worker given a hostile spec exits 1 with one line saying why, and leaves nothing in the run directory', async (t) => {
  const dir = tempDir(t, 'vmstated-spec-fuzz-');
  const rundir = path.join(dir, 'run');
  fs.mkdirSync(rundir);
  const random = seededRandom(SEED + 2);
  const sane = JSON.stringify({ vm: { name: 'web' }, rundir, logdir: path.join(dir, 'log'), bhyve: '/nonexistent/bhyve', bhyvectl: '/nonexistent/bhyvectl' });
  const hostile = [
    sane.replace('"web"', '"../escape"'),
    sane.replace(rundir, 'relative/run'),
    sane.replace('"web"', '5'),
    sane.replace(/"rundir":"[^"]*"/, '"rundir":["/"]'),
    'null',
    '['.repeat(100_000),
    Buffer.from(Array.from({ length: 512 }, () => Math.floor(random() * 256))).toString('latin1'),
    ...Array.from({ length: 4 }, () => sane.slice(0, Math.floor(random() * (sane.length - 1)))), // cut by a crash
  ];
  const specs = hostile.map((content, index) => {
    const file = path.join(dir, `spec${index}.json`);
    fs.writeFileSync(file, content);
    return file;
  });
  for (const [index, shape] of SPECIAL_SHAPES.entries()) {
    const file = path.join(dir, `special${index}.json`);
    writeSpecial(file, shape, MAX_STATE_BYTES + 1);
    specs.push(file);
  }
  const results = await Promise.all(specs.map((spec) => runNode(WORKER_BUNDLE, [spec], { timeoutMs: 20_000 })));
  results.forEach((result, index) => {
    assert.ok(result.status === 1 && /^vmstated worker: .+\n$/.test(result.stderr), `${specs[index]}: exit ${result.status}, stderr ${JSON.stringify(result.stderr)}`);
  });
  assert.deepEqual(fs.readdirSync(rundir), [], 'no socket, record or log');
});
