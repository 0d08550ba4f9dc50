import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { replaceFileSync } from '../../src/shared/replace-file.js';
import { tempDir } from '../helpers/temp-dir.js';

test('replaceFileSync replaces the content with the given mode and leaves no temporary file', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'state');
  fs.writeFileSync(file, 'old\n');
  replaceFileSync(file, 'new\n', 0o600);
  assert.equal(fs.readFileSync(file, 'utf8'), 'new\n');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(dir), ['state']);
});

test('replaceFileSync that cannot rename throws and removes its temporary file', (t) => {
  const dir = tempDir(t);
  const target = path.join(dir, 'taken');
  fs.mkdirSync(path.join(target, 'inside'), { recursive: true }); // a non-empty directory cannot be renamed over
  assert.throws(() => replaceFileSync(target, 'x'), /EISDIR|ENOTEMPTY|EEXIST/);
  assert.deepEqual(fs.readdirSync(dir), ['taken']);
});
