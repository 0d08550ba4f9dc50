import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { manifestIsStale } from '../../src/cli/main.js';
import { writeManifest } from '../../src/cli/manifest.js';
import { tempDir } from './fake-daemon.js';

const COMPILED_COMMANDS = fileURLToPath(new URL('../../commands', import.meta.url));

/** A throwaway package root whose dist/commands is the compiled one (symlinked). */
function packageRoot(t: { after(fn: () => void): void }): string {
  const root = tempDir(t);
  fs.writeFileSync(
    path.join(root, 'package.json'),
    JSON.stringify({ name: 'vmstated', version: '0.1.0', type: 'module', oclif: { bin: 'vmstatedctl', commands: './dist/commands' } }),
  );
  fs.mkdirSync(path.join(root, 'dist'));
  fs.symlinkSync(COMPILED_COMMANDS, path.join(root, 'dist', 'commands'));
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
  assert.equal(Object.keys(manifest.commands).length, 10);
  assert.equal(manifest.commands.status!.flags.socket!.char, 's');
  assert.equal(manifest.commands.logs!.flags.follow!.char, 'f');
});

test('a manifest older than a compiled command is stale; none at all is not', (t) => {
  const root = tempDir(t);
  const commands = path.join(root, 'dist', 'commands');
  fs.mkdirSync(commands, { recursive: true });
  const command = path.join(commands, 'status.js');
  fs.writeFileSync(command, '');
  assert.equal(manifestIsStale(root), false, 'no manifest');
  const manifest = path.join(root, 'oclif.manifest.json');
  fs.writeFileSync(manifest, '{}');
  const earlier = new Date(Date.now() - 60_000);
  fs.utimesSync(command, earlier, earlier);
  assert.equal(manifestIsStale(root), false, 'manifest newer than the commands');
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(command, later, later);
  assert.equal(manifestIsStale(root), true, 'a command rebuilt after the manifest');
});
