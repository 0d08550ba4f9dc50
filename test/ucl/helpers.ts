/** Shared helpers for the UCL tests (not a test file itself). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toTyped, type TypedNode, type UclParseOptions, parseUcl } from '../../src/ucl/index.js';

/** The repo root, from dist/test/ucl/helpers.js. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** shared/ucl-conformance: beside the clone in CI, /work/shared on a developer machine. */
export function conformanceDir(): string {
  const beside = path.resolve(repoRoot, '../shared/ucl-conformance');
  return fs.existsSync(beside) ? beside : '/work/shared/ucl-conformance';
}

/** Typed trees are equal; floats and times compare as numbers (C's %.17g text may differ in form). */
export function typedEqual(a: TypedNode, b: TypedNode): boolean {
  if (a.t !== b.t) return false;
  switch (a.t) {
    case 'float':
    case 'time': {
      const x = Number(a.v);
      const y = Number((b as typeof a).v);
      return x === y || (Number.isNaN(x) && Number.isNaN(y));
    }
    case 'object': {
      const other = (b as typeof a).v;
      return a.v.length === other.length && a.v.every(([k, v], i) => k === other[i][0] && typedEqual(v, other[i][1]));
    }
    case 'array':
    case 'implicit': {
      const other = (b as typeof a).v;
      return a.v.length === other.length && a.v.every((v, i) => typedEqual(v, other[i]));
    }
    case 'null':
      return true;
    default:
      return a.v === (b as typeof a).v;
  }
}

export function typed(text: string, options: UclParseOptions = {}): TypedNode {
  return toTyped(parseUcl(text, options));
}

// Builders for expected typed trees.
export const s = (v: string): TypedNode => ({ t: 'string', v });
export const i = (v: number | bigint | string): TypedNode => ({ t: 'int', v: String(v) });
export const f = (v: number): TypedNode => ({ t: 'float', v: String(v) });
export const tm = (v: number): TypedNode => ({ t: 'time', v: String(v) });
export const b = (v: boolean): TypedNode => ({ t: 'bool', v });
export const nul: TypedNode = { t: 'null' };
export const obj = (...v: [string, TypedNode][]): TypedNode => ({ t: 'object', v });
export const arr = (...v: TypedNode[]): TypedNode => ({ t: 'array', v });
export const imp = (...v: TypedNode[]): TypedNode => ({ t: 'implicit', v });

/** A fresh temporary directory (real path, so included files' paths compare equal). */
export function tempDir(prefix: string): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}
