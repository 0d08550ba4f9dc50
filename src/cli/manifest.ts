/**
 * Writes oclif.manifest.json for vmstatedctl, as `oclif manifest` (from the oclif dev package,
 * which we do not install) would: with it, oclif loads only the command being run instead of
 * importing every command file at each start.
 *
 * Run after every build that changes commands (a stale manifest means stale flags):
 *   node dist/src/cli/manifest.js [package root]
 * Remove the file (or run this again) when commands change.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Plugin } from '@oclif/core/config';

export const MANIFEST_FILE = 'oclif.manifest.json';

export async function writeManifest(root: string): Promise<string> {
  const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true });
  await plugin.load();
  const file = path.join(root, MANIFEST_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(plugin.manifest, null, 2) + '\n');
  fs.renameSync(temporary, file);
  return file;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? fileURLToPath(new URL('../../..', import.meta.url)));
  const file = await writeManifest(root);
  const count = Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { commands: object }).commands).length;
  process.stdout.write(`${file}: ${count} commands\n`);
}
