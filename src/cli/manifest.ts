/**
 * Writes oclif.manifest.json for vmstatedctl, as `oclif manifest` (from the oclif dev package,
 * which we do not install) would: with it, oclif reads every command's flags and arguments from
 * one JSON file instead of building them at each start. `npm run build` writes it
 * (src/build/bundle.ts); vmstatedctl ignores a manifest older than the compiled commands.
 */
import fs from 'node:fs';
import path from 'node:path';
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
