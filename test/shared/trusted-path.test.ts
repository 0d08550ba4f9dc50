/**
 * The trust rule (src/shared/trusted-path.ts) on real files with real owners and modes: the suite
 * runs as root, so files are given to other uids with chown.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { checkTrustedPath, type TrustVerdict } from '../../src/shared/trusted-path.js';
import { tempDir } from '../helpers/temp-dir.js';

const USER = 1001;

/** A root-owned 0755 directory under the (root-owned, sticky) temporary directory. */
function rootDir(t: TestContext): string {
  assert.equal(process.geteuid?.(), 0, 'these tests chown files to other uids and must run as root (CI does)');
  const dir = fs.realpathSync(tempDir(t, 'vmstated-trust-'));
  fs.chmodSync(dir, 0o755);
  return dir;
}

function file(at: string, mode = 0o644): string {
  fs.writeFileSync(at, 'x=1\n');
  fs.chmodSync(at, mode);
  return at;
}

function reasonOf(verdict: TrustVerdict): string {
  assert.equal(verdict.trusted, false, 'refused');
  return verdict.trusted ? '' : verdict.reason;
}

test('a root-owned file below root-owned directories passes; the sticky temporary directory passes as a parent', (t) => {
  const dir = rootDir(t);
  const config = file(path.join(dir, 'config'));
  const verdict = checkTrustedPath(config);
  assert.equal(verdict.trusted, true);
  assert.equal(verdict.trusted && verdict.real, config);
});

test('group- or world-writable files and directories fail, each with its reason', (t) => {
  const dir = rootDir(t);
  assert.equal(reasonOf(checkTrustedPath(file(path.join(dir, 'g'), 0o664))), `${dir}/g: writable by group`);
  assert.equal(reasonOf(checkTrustedPath(file(path.join(dir, 'o'), 0o646))), `${dir}/o: writable by others`);
  assert.equal(reasonOf(checkTrustedPath(file(path.join(dir, 'go'), 0o777))), `${dir}/go: writable by group and others`);
  const open = path.join(dir, 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o775);
  assert.equal(reasonOf(checkTrustedPath(file(path.join(open, 'hook'), 0o755))), `${open}: writable by group`);
});

test('a file or a directory above it owned by another user fails; the daemon\'s own uid may be trusted', (t) => {
  const dir = rootDir(t);
  const theirs = file(path.join(dir, 'theirs'));
  fs.chownSync(theirs, USER, USER);
  assert.equal(reasonOf(checkTrustedPath(theirs)), `${theirs}: owned by uid ${USER}`);
  const vmdir = path.join(dir, 'vm');
  fs.mkdirSync(vmdir);
  const hook = file(path.join(vmdir, 'start_network'), 0o755);
  fs.chownSync(vmdir, USER, USER);
  assert.equal(reasonOf(checkTrustedPath(hook)), `${vmdir}: owned by uid ${USER}`);
  assert.equal(checkTrustedPath(hook, [0, USER]).trusted, true, 'a daemon running as that uid trusts its own files');
});

test('a sticky directory passes as a parent only', (t) => {
  const dir = rootDir(t);
  const sticky = path.join(dir, 'tmp');
  fs.mkdirSync(sticky);
  fs.chmodSync(sticky, 0o1777);
  assert.equal(checkTrustedPath(file(path.join(sticky, 'config'))).trusted, true);
  assert.equal(reasonOf(checkTrustedPath(sticky)), `${sticky}: writable by group and others`);
  fs.chownSync(sticky, USER, USER);
  assert.equal(reasonOf(checkTrustedPath(path.join(sticky, 'config'))), `${sticky}: owned by uid ${USER}`, 'only a trusted owner\'s sticky directory');
});

test('a symbolic link is followed only to a target that passes; the reason names the link and the target', (t) => {
  const dir = rootDir(t);
  const target = file(path.join(dir, 'real_config'));
  const link = path.join(dir, 'config');
  fs.symlinkSync('real_config', link);
  const verdict = checkTrustedPath(link);
  assert.equal(verdict.trusted && verdict.real, target, 'a relative link resolves against its directory');

  const userDir = path.join(dir, 'user');
  fs.mkdirSync(userDir);
  fs.chownSync(userDir, USER, USER);
  const bad = path.join(dir, 'bad');
  fs.symlinkSync(file(path.join(userDir, 'x')), bad);
  assert.equal(reasonOf(checkTrustedPath(bad)), `${bad} is a symlink to ${userDir}/x: ${userDir}: owned by uid ${USER}`);

  const theirLink = path.join(dir, 'their_link');
  fs.symlinkSync(target, theirLink);
  fs.lchownSync(theirLink, USER, USER);
  assert.equal(reasonOf(checkTrustedPath(theirLink)), `${theirLink}: symbolic link owned by uid ${USER}`);

  const loop = path.join(dir, 'loop');
  fs.symlinkSync('loop', loop);
  assert.match(reasonOf(checkTrustedPath(loop)), /too many levels of symbolic links$/);
});

test('.. after a link goes up from the link\'s target, as the kernel resolves it', (t) => {
  const dir = rootDir(t);
  fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
  const untrusted = path.join(dir, 'c');
  fs.mkdirSync(untrusted);
  fs.chmodSync(untrusted, 0o777);
  file(path.join(dir, 'a/config'));
  file(path.join(untrusted, 'config'));
  fs.symlinkSync(path.join(dir, 'a/b'), path.join(untrusted, 'link'));
  // <dir>/c/link/../config is <dir>/a/config to the kernel, but <dir>/c/config lexically.
  const verdict = checkTrustedPath(`${dir}/c/link/../config`);
  assert.equal(verdict.trusted, false, 'c is world-writable: whoever can write it chooses where link points');
  fs.chmodSync(untrusted, 0o755);
  const after = checkTrustedPath(`${dir}/c/link/../config`);
  assert.equal(after.trusted && after.real, path.join(dir, 'a/config'));
});

test('a missing file is reported as missing; a file in the middle of a path is not a directory', (t) => {
  const dir = rootDir(t);
  const missing = checkTrustedPath(path.join(dir, 'start_network'));
  assert.deepEqual(missing, { trusted: false, reason: `${dir}/start_network: does not exist`, why: 'does not exist', missing: true });
  const plain = file(path.join(dir, 'plain'));
  assert.equal(reasonOf(checkTrustedPath(path.join(plain, 'config'))), `${plain}: not a directory`);
});
