/**
 * The run directory's locks (src/shared/file-lock.ts): a lock held for a moment, as a lockHolder()
 * probe holds it (or a child forked by the prober holds it until its exec), does not make a
 * worker or a daemon refuse to start; a lock held for good does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { tryLockFile } from '../../src/shared/file-lock.js';
import { tempDir } from '../helpers/temp-dir.js';

/** flock(1) holding `file` for `seconds` on a description of its own; resolves once it holds it. */
async function holdBriefly(file: string, seconds: number): Promise<void> {
  const holder = spawn('flock', ['-x', file, '-c', `echo held; sleep ${seconds}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    holder.once('error', reject);
    holder.stdout.once('data', resolve);
  });
}

test('a lock held for a moment by someone else is waited for, not taken for a running worker', async (t) => {
  const file = path.join(tempDir(t), 'web.worker.lock');
  await holdBriefly(file, 0.02);
  const attempt = tryLockFile(file);
  assert.ok('lock' in attempt, `the brief holder let go and the lock was ours: ${JSON.stringify(attempt)}`);
  attempt.lock.release();
});
