/**
 * bin/bhyvectl-sim (the sh front end) against bin/bhyvectl-sim.js (the Node implementation):
 * for the same arguments on the same state, the same output, exit status and state directory,
 * whether the front end answers itself (the fast path) or hands over to Node.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { writeVmmRecord, type VmmRecord } from '../../src/bhyvesim/record.js';
import { controlSocketPath } from '../../src/bhyvesim/paths.js';
import type { RunResult } from '../helpers/run.js';
import { SimSandbox } from './harness.js';

type Setup = (sim: SimSandbox) => void;

const noVmmDir: Setup = () => {};
const noStateDir: Setup = (sim) => {
  sim.env.BHYVE_SIM_DIR = path.join(sim.dir, 'missing', 'state');
};
const fileInTheWay: Setup = (sim) => fs.writeFileSync(path.join(sim.dir, 'vmm'), '');
const emptyVmmDir: Setup = (sim) => fs.mkdirSync(path.join(sim.dir, 'vmm'));
const idleInstance = (name: string): Setup => (sim) => writeVmmRecord(idleRecord(name), sim.dir);
const staleSocket: Setup = (sim) => {
  idleInstance('web')(sim);
  fs.mkdirSync(path.join(sim.dir, 'run'));
  fs.writeFileSync(controlSocketPath(sim.dir, 'web'), ''); // left by a killed bhyve; nobody listens
};
const corruptRecord: Setup = (sim) => {
  emptyVmmDir(sim);
  fs.writeFileSync(path.join(sim.dir, 'vmm', 'web'), 'not json\n');
};

function idleRecord(name: string): VmmRecord {
  return {
    name, pid: 4242, memoryBytes: 1 << 20, cpus: 1, createdAt: '2026-01-01T00:00:00.000Z', bootedAt: '2026-01-01T00:00:01.000Z',
    launches: 1, configFile: null, suspended: 'reset', exit: { code: 0, signal: null, at: '2026-01-01T00:00:02.000Z' },
  };
}

/** Every file under the state directory with its content (sockets and the like by kind). */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const relative = path.relative(dir, file);
    files[relative] = entry.isFile() ? fs.readFileSync(file, 'utf8') : entry.isDirectory() ? '<dir>' : '<other>';
  }
  return files;
}

/** A PATH holding only what the fast path may use (rm, id): no node, so a hand-over fails with 127. */
function pathWithoutNode(t: TestContext, sim: SimSandbox): string {
  const dir = fs.mkdtempSync(path.join(sim.dir, '..', `${path.basename(sim.dir)}-bin-`));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const tool of ['rm', 'id']) {
    const found = (process.env.PATH ?? '').split(':').map((entry) => path.join(entry, tool)).find((file) => fs.existsSync(file));
    assert.ok(found, `${tool} is on PATH`);
    fs.symlinkSync(found, path.join(dir, tool));
  }
  return dir;
}

const outcome = (result: RunResult, sim: SimSandbox) => ({
  status: result.status,
  stdout: result.stdout,
  stderr: result.stderr.split(sim.dir).join('<statedir>'),
  state: snapshot(sim.dir),
});

/** Runs both on twin state directories; asserts they agree and whether the front end needed Node. */
async function assertSameAsNode(t: TestContext, setup: Setup, args: string[], fastPath: boolean): Promise<RunResult> {
  const [viaFrontEnd, viaNode, withoutNode] = [new SimSandbox(t), new SimSandbox(t), new SimSandbox(t)];
  for (const sim of [viaFrontEnd, viaNode, withoutNode]) setup(sim);
  const expected = outcome(await viaNode.bhyvectlNode(args), viaNode);
  const frontEnd = await viaFrontEnd.bhyvectl(args);
  assert.deepEqual(outcome(frontEnd, viaFrontEnd), expected, `bhyvectl-sim ${args.join(' ')}`);

  const noNode = await withoutNode.bhyvectl(args, { ...withoutNode.env, PATH: pathWithoutNode(t, withoutNode) });
  if (fastPath) assert.deepEqual(outcome(noNode, withoutNode), expected, `the front end answers ${args.join(' ')} without Node`);
  else assert.equal(noNode.status, 127, `the front end hands ${args.join(' ')} to Node: ${noNode.stderr}`);
  return frontEnd;
}

test('front end, fast path: --destroy of an idle instance removes its record and exits 0, as the Node bhyvectl does', async (t) => {
  for (const args of [['--vm=web', '--destroy'], ['--vm', 'web', '--destroy'], ['--destroy', '--vm=other', '--vm=web']]) {
    const result = await assertSameAsNode(t, idleInstance('web'), args, true);
    assert.deepEqual([result.status, result.stdout, result.stderr], [0, '', '']);
  }
});

test('front end, fast path: --destroy without an instance prints "VM:NAME is not created." and exits 1, as the Node bhyvectl does', async (t) => {
  const result = await assertSameAsNode(t, idleInstance('web'), ['--vm=ghost', '--destroy'], true);
  assert.deepEqual([result.status, result.stdout], [1, 'VM:ghost is not created.\n']);
  await assertSameAsNode(t, emptyVmmDir, ['--vm=db.1', '--destroy'], true);
  // before the first bhyve made the vmm directory, or the state directory itself
  await assertSameAsNode(t, noVmmDir, ['--vm=web', '--destroy'], true);
  await assertSameAsNode(t, noStateDir, ['--vm=web', '--destroy'], true);
});

test('front end hands over to Node (same outcome): a file in the way, a stale socket, a corrupt record, odd names and options', async (t) => {
  assert.equal((await assertSameAsNode(t, fileInTheWay, ['--vm=web', '--destroy'], false)).status, 71);
  await assertSameAsNode(t, staleSocket, ['--vm=web', '--destroy'], false);
  const corrupt = await assertSameAsNode(t, corruptRecord, ['--vm=web', '--destroy'], false);
  assert.equal(corrupt.status, 71);
  await assertSameAsNode(t, idleInstance('web'), ['--vm=a/b', '--destroy'], false);
  await assertSameAsNode(t, idleInstance('web'), ['--vm', '--destroy'], false);
  await assertSameAsNode(t, idleInstance('web'), ['--vm=web', '--destroy', '--sim-show'], false);
});

test('front end, fast path: without BHYVE_SIM_DIR both use <TMPDIR>/bhyve-sim-<uid>, TMPDIR\'s trailing slash dropped', async (t) => {
  const sim = new SimSandbox(t);
  const env = { ...sim.env, BHYVE_SIM_DIR: '', TMPDIR: `${sim.dir}/` };
  const stateDir = path.join(sim.dir, `bhyve-sim-${process.getuid?.() ?? 0}`);
  const record = path.join(stateDir, 'vmm', 'web');
  for (const run of [
    () => sim.bhyvectlNode(['--vm=web', '--destroy'], env),
    () => sim.bhyvectl(['--vm=web', '--destroy'], { ...env, PATH: pathWithoutNode(t, sim) }),
  ]) {
    writeVmmRecord(idleRecord('web'), stateDir);
    assert.deepEqual(await run(), { status: 0, signal: null, stdout: '', stderr: '' });
    assert.equal(fs.existsSync(record), false);
    assert.equal((await run()).stdout, 'VM:web is not created.\n');
  }
});
