/** writeFileAtomic's sweep of temporary files that dead writers left. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../src/config/atomic.js';
import { tempDir } from '../helpers/temp-dir.js';

const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

test('the first write into a directory removes every dead writer\'s temporary file there; later writes do not list it again', async (t) => {
  const dir = tempDir(t, 'vmstated-atomic-');
  const dead = deadPid();
  const staleOfTarget = path.join(dir, `.web.state.json.${dead}.mg2x1-3.tmp`);
  const staleOfOther = path.join(dir, `.db.state.json.${dead}.mg2x1-3.tmp`);
  const liveWriter = path.join(dir, `.db.state.json.${process.ppid}.mg2x1-3.tmp`);
  const notATemp = path.join(dir, `db.state.json.${dead}.tmp`);
  for (const file of [staleOfTarget, staleOfOther, liveWriter, notATemp]) fs.writeFileSync(file, 'half a fi');

  await writeFileAtomic(path.join(dir, 'web.state.json'), Buffer.from('{}\n'));
  assert.equal(fs.readFileSync(path.join(dir, 'web.state.json'), 'utf8'), '{}\n');
  assert.equal(fs.existsSync(staleOfTarget), false, 'a dead writer\'s temporary file of this target is removed');
  assert.equal(fs.existsSync(staleOfOther), false, 'and of another target in the same directory');
  assert.equal(fs.existsSync(liveWriter), true, 'a live writer keeps its temporary file');
  assert.equal(fs.existsSync(notATemp), true, 'a file not named like our temporary files stays');

  const staleLater = path.join(dir, `.web.state.json.${dead}.mg2x1-3.tmp`);
  fs.writeFileSync(staleLater, 'half a fi');
  await writeFileAtomic(path.join(dir, 'web.state.json'), Buffer.from('{"n":2}\n'));
  assert.equal(fs.readFileSync(path.join(dir, 'web.state.json'), 'utf8'), '{"n":2}\n');
  assert.equal(fs.existsSync(staleLater), true, 'the directory was swept once by this process, not on every write');

  const other = tempDir(t, 'vmstated-atomic-');
  const staleElsewhere = path.join(other, `.vm.generated.${dead}.mg2x1-3.tmp`);
  fs.writeFileSync(staleElsewhere, 'half a fi');
  await writeFileAtomic(path.join(other, 'vm.generated'), Buffer.from('x=1\n'));
  assert.equal(fs.existsSync(staleElsewhere), false, 'each directory gets its own first sweep');
});

test('the sweep removes only temporary files vmstated made: named exactly so, regular files, owned by this uid', async (t) => {
  const dir = tempDir(t, 'vmstated-atomic-');
  const elsewhere = tempDir(t, 'vmstated-atomic-target-');
  const dead = deadPid();
  const ours = path.join(dir, `.web.generated.${dead}.mg2x1-3.tmp`);
  const someoneElses = path.join(dir, `.db.generated.${dead}.mg2x1-4.tmp`);
  const aDirectory = path.join(dir, `.x.generated.${dead}.mg2x1-5.tmp`);
  const aLink = path.join(dir, `.y.generated.${dead}.mg2x1-6.tmp`);
  const looseNaming = path.join(dir, `.z.generated.${dead}.tmp`);
  const linkTarget = path.join(elsewhere, 'precious');
  for (const file of [ours, someoneElses, looseNaming, linkTarget]) fs.writeFileSync(file, 'keep?');
  fs.chownSync(someoneElses, 65534, 65534);
  fs.mkdirSync(aDirectory);
  fs.symlinkSync(linkTarget, aLink);

  await writeFileAtomic(path.join(dir, 'web.generated'), Buffer.from('x=1\n'), 0o600);
  assert.equal(fs.statSync(path.join(dir, 'web.generated')).mode & 0o777, 0o600);
  assert.equal(fs.existsSync(ours), false, 'our own stale temporary file goes');
  for (const kept of [someoneElses, aDirectory, aLink, looseNaming, linkTarget]) {
    assert.equal(fs.existsSync(kept), true, `${path.basename(kept)} stays`);
  }
});
