/** Reading files without blocking on them, and writing only into the directory that was checked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { inTrustedDirectory, trustedDirectory } from '../../src/shared/pinned-directory.js';
import { FileRefusal, readRegularFileSync, readTrustedFileSync } from '../../src/shared/safe-read.js';
import { tempDir } from '../helpers/temp-dir.js';

function refusal(read: () => unknown): FileRefusal {
  try {
    read();
  } catch (err) {
    if (err instanceof FileRefusal) return err;
    throw err;
  }
  assert.fail('the file was read');
}

test('regular files are read; FIFOs, directories, devices, sockets and files over the limit are refused at once', (t) => {
  const dir = fs.realpathSync(tempDir(t, 'vmstated-read-'));
  const config = path.join(dir, 'config');
  fs.writeFileSync(config, 'a=1\n');
  assert.equal(readRegularFileSync(config).toString(), 'a=1\n');

  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const refused = refusal(() => readRegularFileSync(fifo));
  assert.equal(refused.kind, 'not a regular file');
  assert.equal(refused.message, `${fifo} is a FIFO, not a regular file`);
  assert.equal(refusal(() => readRegularFileSync(dir)).reason, 'is a directory, not a regular file');
  assert.equal(refusal(() => readRegularFileSync('/dev/zero', { follow: true })).reason, 'is a character device, not a regular file');

  const big = path.join(dir, 'big');
  fs.writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 0x61));
  const tooBig = refusal(() => readRegularFileSync(big));
  assert.deepEqual([tooBig.kind, tooBig.reason], ['file too large', 'is larger than 1 MiB']);
  assert.equal(refusal(() => readRegularFileSync(config, { limit: 3 })).reason, 'is larger than 3 bytes');
  assert.equal(refusal(() => readRegularFileSync(path.join(dir, 'none'))).code, 'ENOENT');
});

test('a final symbolic link is refused unless followed; a trusted read follows one whose target passes the rule', (t) => {
  const dir = fs.realpathSync(tempDir(t, 'vmstated-read-'));
  fs.chmodSync(dir, 0o755);
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, 'x=1\n');
  const link = path.join(dir, 'link');
  fs.symlinkSync(target, link);
  assert.equal(refusal(() => readRegularFileSync(link)).reason, 'is a symbolic link, not a regular file');
  assert.equal(readRegularFileSync(link, { follow: true }).toString(), 'x=1\n');
  assert.equal(readTrustedFileSync(link).toString(), 'x=1\n');

  fs.chmodSync(target, 0o666);
  const untrusted = refusal(() => readTrustedFileSync(link));
  assert.equal(untrusted.kind, 'file not trusted');
  assert.equal(untrusted.summary, 'file not trusted: writable by group and others');
  assert.equal(untrusted.message, `${link} is not trusted: ${link} is a symlink to ${target}: ${target}: writable by group and others`);
});

test('a directory swapped for a link after its check gets nothing: the work runs in the directory that was checked, or not at all', (t) => {
  const base = fs.realpathSync(tempDir(t, 'vmstated-pin-'));
  fs.chmodSync(base, 0o755);
  const dir = path.join(base, 'vm');
  const elsewhere = path.join(base, 'elsewhere');
  fs.mkdirSync(dir);
  fs.mkdirSync(elsewhere);
  const checked = trustedDirectory(dir);
  const before = process.cwd();
  inTrustedDirectory(checked, () => fs.writeFileSync('kept', 'ok'));
  assert.equal(fs.readFileSync(path.join(dir, 'kept'), 'utf8'), 'ok', 'names resolve in the checked directory');
  assert.equal(process.cwd(), before, 'and the working directory is back');

  fs.renameSync(dir, `${dir}.old`);
  fs.symlinkSync(elsewhere, dir);
  assert.throws(() => inTrustedDirectory(checked, () => fs.writeFileSync('planted', 'x')), /directory .*\/vm was replaced after it was checked/);
  assert.deepEqual(fs.readdirSync(elsewhere), [], 'nothing was created where the link points');

  fs.rmSync(dir);
  fs.renameSync(`${dir}.old`, dir);
  fs.chmodSync(dir, 0o777);
  assert.throws(() => inTrustedDirectory(checked, () => fs.writeFileSync('planted', 'x')), /is no longer trusted: writable by group and others/);
  assert.deepEqual(fs.readdirSync(dir), ['kept']);
});
