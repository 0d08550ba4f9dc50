/** Temporary config directories for the config tests. */
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { bootromKey } from '../../src/config/bootrom.js';
import { loadConfigDir } from '../../src/config/load.js';
import type { ConfigDirLoad, ConfigProblem } from '../../src/config/types.js';
import { tempDir } from '../helpers/temp-dir.js';

export const BHYVE_CONFIG = 'pci.0.0.0.device=hostbridge\npci.0.31.0.device=lpc\nlpc.com1.path=stdio\n';

export { tempDir };

/** A stand-in boot ROM under `dir` (the boot ROM rule wants one that exists); returns its path. */
export function standInRom(dir: string, name = 'BHYVE_UEFI.fd'): string {
  const rom = path.join(dir, name);
  fs.mkdirSync(path.dirname(rom), { recursive: true });
  fs.writeFileSync(rom, 'stand-in boot ROM\n');
  return rom;
}

/** The bhyve config line that names `rom` on this host (src/config/bootrom.ts). */
export function bootromLine(rom: string): string {
  return `${bootromKey() ?? 'lpc.bootrom'}=${rom}`;
}

/**
 * `<configdir>/<dir>/config` with `text`, and a `bhyve_config` beside it (unless `bhyve` is null).
 * Unless `options.bootrom` is false, or the config or the bhyve text names a boot ROM already, the
 * bhyve file ends with a boot ROM line naming a stand-in ROM, `<configdir>/.rom/BHYVE_UEFI.fd` (a
 * hidden directory is no VM; appended, so the given lines keep their numbers).
 */
export function writeVm(configdir: string, dir: string, text: string, bhyve: string | null = BHYVE_CONFIG, options: { bootrom?: boolean } = {}): string {
  const vmdir = path.join(configdir, dir);
  fs.mkdirSync(vmdir, { recursive: true });
  if (bhyve !== null) {
    const named = /\bbootrom\b/.test(text) || /^(lpc\.)?bootrom=/m.test(bhyve);
    const rom = options.bootrom === false || named ? '' : `${bhyve === '' || bhyve.endsWith('\n') ? '' : '\n'}${bootromLine(standInRom(path.join(configdir, '.rom')))}\n`;
    fs.writeFileSync(path.join(vmdir, 'bhyve_config'), bhyve + rom);
  }
  const file = path.join(vmdir, 'config');
  fs.writeFileSync(file, text);
  return file;
}

/** Load a config dir holding one VM with these settings inside `name { ... }`. */
export async function loadOne(t: TestContext, body: string, name = 'vm0'): Promise<{ load: ConfigDirLoad; file: string; text: string }> {
  const configdir = tempDir(t);
  const text = `${name} {\n    configfile = bhyve_config;\n${body}\n}\n`;
  const file = writeVm(configdir, name, text);
  return { load: await loadConfigDir(configdir), file, text };
}

/** 1-based line and column of the first `needle` in `text`. */
export function positionOf(text: string, needle: string): { line: number; column: number } {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`${JSON.stringify(needle)} not in the test config`);
  const before = text.slice(0, index).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

/** Where the value of `key = value` stands in `text`. */
export function valueAt(text: string, key: string, value: string): { line: number; column: number } {
  const at = positionOf(text, `${key} = ${value}`);
  return { line: at.line, column: at.column + key.length + 3 };
}

/** The problems, as `severity line:column message` lines, for readable assertions. */
export function summarize(problems: ConfigProblem[]): string[] {
  return problems.map((p) => `${p.severity} ${p.line}:${p.column} ${p.message}`);
}

/** The one problem there is, failing with the whole list when there are more or none. */
export function onlyProblem(problems: ConfigProblem[]): ConfigProblem {
  if (problems.length !== 1) throw new Error(`expected one problem, got: ${JSON.stringify(summarize(problems), null, 1)}`);
  return problems[0]!;
}
