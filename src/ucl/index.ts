/**
 * vmstated/ucl — a zero-dependency UCL parser that reads what FreeBSD's
 * libucl 0.9 reads, the same way (tested against libucl's own test suite,
 * shared/ucl-conformance). libucl's quirks are kept on purpose, e.g. an
 * unquoted `4G;` is the int 4000000000 but `4G }` is the string "4G",
 * relative `.include` paths resolve against the process's working directory
 * (use "$CURDIR/..." for paths next to the file), and a `.try_include` of a
 * missing file quietly ends parsing, keeping what was read so far.
 *
 * Where libucl would misbehave we differ, always by raising a UclError:
 * a glob `.include` that matches nothing (libucl silently stops), URL
 * includes (unsupported), an included file that is a top-level array, a '}'
 * in an included file closing the including file's object, and nesting
 * deeper than 1000 levels. Signed `.includes` are read without checking the
 * signature (as libucl built without OpenSSL). `\uD83D\uDE00` pairs make one
 * character (libucl writes two invalid 3-byte sequences).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRegularFileSync } from '../shared/safe-read.js';
import { UclError, unreadableBecause } from './errors.js';
import { Parser, type ParserSettings } from './parser.js';
import { toPublic } from './tree.js';
import type { UclNode, UclObjectNode, UclParseOptions } from './types.js';

export * from './types.js';
export { UclError } from './errors.js';
export { toTyped, formatG17, type TypedNode } from './typed.js';

function realOrResolved(file: string): string {
  // existsSync first: a thrown ENOENT costs more than parsing a small config
  if (!fs.existsSync(file)) return path.resolve(file);
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

function settingsFor(options: UclParseOptions): ParserSettings {
  const cwd = process.cwd();
  const vars = new Map<string, string>();
  let curFile: string | undefined;
  if (options.filename !== undefined) {
    curFile = realOrResolved(options.filename);
    vars.set('FILENAME', curFile);
    vars.set('CURDIR', path.dirname(curFile));
  } else {
    vars.set('FILENAME', 'undef');
    vars.set('CURDIR', cwd);
  }
  for (const [name, value] of Object.entries(options.variables ?? {})) vars.set(name, value);
  const readFile = options.readFile ?? readFileSafely;
  const isRefusal = options.isRefusal ?? (() => false);
  const settings: ParserSettings = { lowercase: options.lowercaseKeys === true, vars, cwd, includePaths: null, readFile, isRefusal };
  if (curFile !== undefined) settings.curFile = curFile;
  return settings;
}

/** Runs the parser so that nothing but UclError ever escapes. */
function guarded<T>(file: string | undefined, run: () => T): T {
  const where = { line: 0, column: 0, ...(file !== undefined ? { file } : {}) };
  try {
    return run();
  } catch (e) {
    if (e instanceof UclError) throw e;
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new UclError('the document nests too deeply to be read', where);
    }
    throw new UclError(`internal parser error: ${e instanceof Error ? e.message : String(e)}`, where);
  }
}

/** Parses UCL text; the top level may also be an array (libucl accepts `[ ... ]` documents). */
export function parseUclValue(text: string, options: UclParseOptions = {}): UclNode {
  return guarded(options.filename, () => {
    const parser = new Parser(settingsFor(options));
    return toPublic(parser.parseDocument(String(text), options.filename));
  });
}

/** Parses UCL text whose top level is an object (as every config file is). */
export function parseUcl(text: string, options: UclParseOptions = {}): UclObjectNode {
  const node = parseUclValue(text, options);
  if (node.type !== 'object') {
    const where = { line: node.line, column: node.column, ...(options.filename !== undefined ? { file: options.filename } : {}) };
    throw new UclError('the document is an array; an object was expected', where);
  }
  return node;
}

/** The default reader: a regular file (a link to one is followed), never blocking, 1 MiB at most. */
function readFileSafely(file: string): Uint8Array {
  return readRegularFileSync(file, { follow: true });
}

function readText(file: string, read: (file: string) => Uint8Array): string {
  try {
    return new TextDecoder().decode(read(file));
  } catch (e) {
    throw new UclError(`cannot read ${file}: ${unreadableBecause(e)}`, { file, line: 0, column: 0 }, e);
  }
}

/** Reads and parses a UCL file; `filename` defaults to the path. */
export function parseUclFile(file: string, options: UclParseOptions = {}): UclObjectNode {
  const filename = options.filename ?? file;
  return parseUcl(readText(file, options.readFile ?? readFileSafely), { ...options, filename });
}
