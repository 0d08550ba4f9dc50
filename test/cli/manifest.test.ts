import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_BUNDLE_PATH, manifestIsStale } from '../../src/cli/main.js';
import { writeManifest } from '../../src/cli/manifest.js';
import { tempDir } from './fake-daemon.js';

const BUILT_BUNDLE = fileURLToPath(new URL(`../../../${CLI_BUNDLE_PATH}`, import.meta.url));

/** A throwaway package root whose vmstatedctl bundle is the built one (symlinked), found as package.json says. */
function packageRoot(t: { after(fn: () => void): void }): string {
  const root = tempDir(t);
  const pjson = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { oclif: object };
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'vmstated', version: '0.1.0', type: 'module', oclif: pjson.oclif }));
  fs.mkdirSync(path.dirname(path.join(root, CLI_BUNDLE_PATH)), { recursive: true });
  fs.symlinkSync(BUILT_BUNDLE, path.join(root, CLI_BUNDLE_PATH));
  return root;
}

test('the manifest generator lists every command with its flags', async (t) => {
  const root = packageRoot(t);
  const file = await writeManifest(root);
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    version: string;
    commands: Record<string, { flags: Record<string, { char?: string }> }>;
  };
  assert.equal(manifest.version, '0.1.0');
  assert.equal(Object.keys(manifest.commands).length, 12);
  assert.equal(manifest.commands.status!.flags.socket!.char, 's');
  assert.equal(manifest.commands.logs!.flags.follow!.char, 'f');
});

test('a manifest older than the vmstatedctl bundle is stale; none at all is not', (t) => {
  const root = tempDir(t);
  const command = path.join(root, CLI_BUNDLE_PATH);
  fs.mkdirSync(path.dirname(command), { recursive: true });
  fs.writeFileSync(command, '');
  assert.equal(manifestIsStale(root), false, 'no manifest');
  const manifest = path.join(root, 'oclif.manifest.json');
  fs.writeFileSync(manifest, '{}');
  const earlier = new Date(Date.now() - 60_000);
  fs.utimesSync(command, earlier, earlier);
  assert.equal(manifestIsStale(root), false, 'manifest newer than the bundle');
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(command, later, later);
  assert.equal(manifestIsStale(root), true, 'the bundle rebuilt after the manifest');
});
