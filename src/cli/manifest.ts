/**
 * Writes oclif.manifest.json for vmstatedctl, as `oclif manifest` (from the oclif dev package,
 * which we do not install) would: with it, oclif reads every command's flags and arguments from
 * one JSON file instead of building them at each start. `npm run build` writes it
 * (src/build/bundle.ts); vmstatedctl ignores a manifest older than the compiled commands.
 */
import path from 'node:path';
import { Plugin } from '@oclif/core/config';
import { replaceFileSync } from '../shared/replace-file.js';

export const MANIFEST_FILE = 'oclif.manifest.json';

export async function writeManifest(root: string): Promise<string> {
  const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true });
  await plugin.load();
  const file = path.join(root, MANIFEST_FILE);
  replaceFileSync(file, JSON.stringify(plugin.manifest, null, 2) + '\n');
  return file;
}
