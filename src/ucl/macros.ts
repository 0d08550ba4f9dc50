/**
 * The macros libucl registers: .include/.try_include/.includes, .priority,
 * .load and .inherit, with libucl's options and outcomes. A handler returns
 * 'stopped' where libucl's handler fails without an error (parsing then ends
 * quietly, keeping what was read), and throws UclError where libucl reports one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WHITESPACE_UNSAFE, asciiLower, charClass, isCSpace, isDigit } from './chars.js';
import { UclError, unreadableBecause } from './errors.js';
import { globSync } from './glob.js';
import { type Chunk, type ChunkResult, type Strategy, makeChunk } from './chunk.js';
import type { Parser } from './parser.js';
import { escapeJsonUnsafe } from './strings.js';
import { PNode, type SourcePos } from './tree.js';

export interface MacroCall {
  name: string;
  value: string;
  args: PNode | null;
  at: SourcePos;
}

export type MacroHandler = (parser: Parser, chunk: Chunk, call: MacroCall) => ChunkResult;

/** libucl keeps priorities in 4 bits. */
export function maskPriority(value: number | bigint): number {
  return Number(BigInt.asUintN(32, BigInt(value)) & 15n);
}

function fail(call: MacroCall, message: string, cause?: unknown): never {
  throw new UclError(message, call.at, cause);
}

/** libucl matches option names with strncmp(name, option, strlen(name)): any prefix works. */
function optionIs(name: string, option: string): boolean {
  return name.length > 0 && name.length <= option.length && option.startsWith(name);
}

interface Option {
  name: string;
  node: PNode;
}

function options(args: PNode | null): Option[] {
  if (!args || args.type !== 'object' || !args.members) return [];
  return [...args.members].map(([name, list]) => ({ name, node: list[0] }));
}

function readFileText(parser: Parser, file: string): string {
  return new TextDecoder().decode(parser.settings.readFile(file));
}

interface IncludeParams {
  softFail: boolean;
  mustExist: boolean;
  glob: boolean;
  usePrefix: boolean;
  prefix: string | null;
  target: string;
  priority: number;
  strategy: Strategy;
}

function includeParams(call: MacroCall, defaultTry: boolean, parser: Parser): IncludeParams {
  const params: IncludeParams = {
    softFail: defaultTry, mustExist: !defaultTry, glob: false, usePrefix: false,
    prefix: null, target: 'object', priority: 0, strategy: 'append',
  };
  for (const { name, node } of options(call.args)) {
    if (node.type === 'bool') {
      const on = node.scalar === true;
      if (optionIs(name, 'try')) params.mustExist = !on;
      else if (optionIs(name, 'sign')) { /* signatures are not checked (libucl without OpenSSL) */ }
      else if (optionIs(name, 'glob')) params.glob = on;
      else if (optionIs(name, 'url')) { if (on) fail(call, 'URL includes are not supported'); }
      else if (optionIs(name, 'prefix')) params.usePrefix = on;
    } else if (node.type === 'string') {
      const text = node.scalar as string;
      if (optionIs(name, 'key')) params.prefix = text;
      else if (optionIs(name, 'target')) params.target = text;
      else if (optionIs(name, 'duplicate')) {
        if (text === 'append' || text === 'merge' || text === 'rewrite' || text === 'error') params.strategy = text;
      }
    } else if (node.type === 'array') {
      if (optionIs(name, 'path')) {
        parser.settings.includePaths = (node.items ?? [])
          .filter((item) => item.type === 'string')
          .map((item) => item.scalar as string);
      }
    } else if (node.type === 'int') {
      if (optionIs(name, 'priority')) params.priority = maskPriority(node.scalar as bigint);
    }
  }
  return params;
}

/** Opens the object an include with `key`/`prefix` writes into, creating or converting as libucl does. */
function prefixTarget(parser: Parser, call: MacroCall, params: IncludeParams, prefix: string): PNode {
  const container = parser.stack[parser.stack.length - 1].node;
  const members = container.members as Map<string, PNode[]>;
  const key = parser.settings.lowercase ? asciiLower(prefix) : prefix;
  const list = members.get(key);
  const old = list?.[0];
  const newObject = (): PNode => parser.newContainer('object', call.at, params.priority);
  const named = (node: PNode): PNode => {
    node.key = { name: prefix, line: call.at.line, column: call.at.column };
    return node;
  };
  const wantsArray = params.target.toLowerCase() === 'array';
  if (!old) {
    if (wantsArray) {
      const array = named(parser.newContainer('array', call.at, params.priority));
      const nest = newObject();
      (array.items as PNode[]).push(nest);
      members.set(key, [array]);
      return nest;
    }
    const nest = named(newObject());
    members.set(key, [nest]);
    return nest;
  }
  if (wantsArray || old.type === 'array') {
    const nest = newObject();
    if (old.type === 'array') {
      (old.items as PNode[]).push(nest);
    } else {
      const array = parser.newContainer('array', old.pos, 0);
      if (old.key) array.key = { ...old.key };
      array.items = [...(list as PNode[]), nest];
      members.set(key, [array]);
    }
    return nest;
  }
  if (old.type === 'object') return old;
  return fail(call, `cannot include into key "${prefix}": it already holds a ${old.type}`);
}

function moveVariable(vars: Map<string, string>, name: string, value: string): void {
  vars.delete(name);
  vars.set(name, value);
}

function includeSingle(parser: Parser, call: MacroCall, file: string, params: IncludeParams): ChunkResult {
  const settings = parser.settings;
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(settings.cwd, file));
  } catch (e) {
    if (params.softFail) return 'stopped';
    if (!params.mustExist) return 'ok';
    return fail(call, `cannot open included file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (settings.curFile === real) {
    if (params.softFail) return 'stopped';
    fail(call, `file ${real} includes itself`);
  }
  let text: string;
  try {
    // The path as written, not the real one: a reader that checks each directory on the way
    // (vmstated's trust rule) must see the links it goes through.
    text = readFileText(parser, path.resolve(settings.cwd, file));
  } catch (e) {
    if (settings.isRefusal(e)) fail(call, `cannot include ${real}: ${unreadableBecause(e)}`, e);
    if (params.softFail) return 'stopped';
    if (params.mustExist) fail(call, `cannot include ${real}: ${unreadableBecause(e)}`, e);
    return 'ok';
  }

  const savedFile = settings.curFile;
  const savedFilename = settings.vars.get('FILENAME');
  const savedCurdir = settings.vars.get('CURDIR');
  const stackDepth = parser.stack.length;
  settings.curFile = real;
  // like libucl, the file variables move to the end of the lookup order while an include is read
  moveVariable(settings.vars, 'FILENAME', real);
  moveVariable(settings.vars, 'CURDIR', path.dirname(real));
  let result: ChunkResult;
  try {
    if (params.prefix === null && params.usePrefix) {
      params.prefix = path.basename(real).replace(/\.(conf|ucl)$/, '');
    }
    if (params.prefix !== null) {
      const nest = prefixTarget(parser, call, params, params.prefix);
      const outer = parser.stack[parser.stack.length - 1];
      parser.pushFrame({ node: nest, level: outer.level, braced: false, chunk: outer.chunk, base: false, open: call.at });
    }
    result = parser.runChunk(makeChunk(text, real, params.priority, params.strategy));
  } catch (e) {
    // try=true skips a file that does not parse, not a refusal met inside it.
    if (!(e instanceof UclError) || params.mustExist || settings.isRefusal(e.cause)) throw e;
    result = 'ok';
  } finally {
    parser.stack.length = stackDepth;
    settings.curFile = savedFile;
    if (savedFilename !== undefined) moveVariable(settings.vars, 'FILENAME', savedFilename);
    if (savedCurdir !== undefined) moveVariable(settings.vars, 'CURDIR', savedCurdir);
  }
  if (result === 'stopped' && !params.mustExist) result = 'ok';
  return result;
}

function includeFile(parser: Parser, call: MacroCall, file: string, params: IncludeParams): ChunkResult {
  if (!params.glob || !/[*?]/.test(file)) return includeSingle(parser, call, file, params);
  const matches = globSync(file, parser.settings.cwd);
  if (matches.length === 0) {
    if (!params.mustExist) return 'ok';
    fail(call, `no file matches the include pattern ${file}`);
  }
  for (const match of matches) {
    if (includeSingle(parser, call, match, params) === 'stopped') {
      if (params.softFail) continue;
      return 'stopped';
    }
  }
  return 'ok';
}

function includeMacro(defaultTry: boolean): MacroHandler {
  return (parser, _chunk, call) => {
    const params = includeParams(call, defaultTry, parser);
    const paths = parser.settings.includePaths;
    if (!paths) return includeFile(parser, call, call.value, params);
    for (const dir of paths) {
      try {
        if (includeFile(parser, call, `${dir}/${call.value}`, params) === 'ok' && !params.glob) return 'ok';
      } catch (e) {
        if (!(e instanceof UclError)) throw e;
      }
    }
    return fail(call, `cannot find ${call.value} in the include path`);
  };
}

/** C's strtol(): the whole text must be a number. */
function parseWholeInteger(text: string): number | null {
  let i = 0;
  while (i < text.length && isCSpace(text.charCodeAt(i))) i++;
  const start = i;
  if (text[i] === '+' || text[i] === '-') i++;
  const digits = i;
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  if (i === digits || i !== text.length) return null;
  return Number(text.slice(start));
}

const priorityMacro: MacroHandler = (_parser, chunk, call) => {
  let priority: number | null = null;
  for (const { name, node } of options(call.args)) {
    if (node.type === 'int' && optionIs(name, 'priority')) priority = maskPriority(node.scalar as bigint);
  }
  if (call.value.length > 0) {
    const value = parseWholeInteger(call.value);
    if (value === null) fail(call, `invalid priority "${call.value}" (a number is expected)`);
    priority = maskPriority(BigInt(value));
  }
  if (priority === null) fail(call, 'the .priority macro needs a number');
  chunk.priority = priority;
  return 'ok';
};

function trimUnsafe(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (charClass(text.charCodeAt(start)) & WHITESPACE_UNSAFE) !== 0) start++;
  while (end > start + 1 && (charClass(text.charCodeAt(end - 1)) & WHITESPACE_UNSAFE) !== 0) end--;
  return text.slice(start, end);
}

/** C's strtoll() on the file's text: leading number or 0. */
function leadingInteger(text: string): bigint {
  const match = /^[\t\n\v\f\r ]*([+-]?\d+)/.exec(text);
  if (!match) return 0n;
  const value = BigInt(match[1]);
  const max = (1n << 63n) - 1n;
  const min = -(1n << 63n);
  return value > max ? max : value < min ? min : value;
}

const loadMacro: MacroHandler = (parser, _chunk, call) => {
  let tryLoad = false;
  let escape = false;
  let trim = false;
  let target = 'string';
  let key: string | null = null;
  let priority = 0;
  for (const { name, node } of options(call.args)) {
    if (node.type === 'bool') {
      const on = node.scalar === true;
      if (optionIs(name, 'try')) tryLoad = on;
      else if (optionIs(name, 'multiline')) { /* only changes how libucl emits the string */ }
      else if (optionIs(name, 'escape')) escape = on;
      else if (optionIs(name, 'trim')) trim = on;
    } else if (node.type === 'string') {
      if (optionIs(name, 'key')) key = node.scalar as string;
      else if (optionIs(name, 'target')) target = node.scalar as string;
    } else if (node.type === 'int') {
      if (optionIs(name, 'priority')) priority = maskPriority(node.scalar as bigint);
    }
  }
  if (key === null || key.length === 0) fail(call, 'the .load macro needs a key option');
  if (call.value.length === 0) fail(call, 'the .load macro needs a file name');
  const file = path.resolve(parser.settings.cwd, call.value);
  let content: string;
  try {
    content = readFileText(parser, file);
  } catch (e) {
    if (tryLoad && !parser.settings.isRefusal(e)) return 'ok';
    return fail(call, `cannot load ${call.value}: ${unreadableBecause(e)}`, e);
  }
  const container = parser.stack[parser.stack.length - 1].node;
  const members = container.members as Map<string, PNode[]>;
  if (members.has(key)) fail(call, `cannot load into key "${key}": it already exists`);
  if (content.length === 0) return 'ok';
  const node = new PNode(priority, call.at);
  node.key = { name: key, line: call.at.line, column: call.at.column };
  if (target.toLowerCase() === 'string') {
    let value = trim ? trimUnsafe(content) : content;
    if (escape) value = escapeJsonUnsafe(value);
    node.setScalar('string', value, content, call.at);
  } else if (target.toLowerCase() === 'int') {
    node.setScalar('int', leadingInteger(content), content.trim(), call.at);
  } else {
    return 'ok';
  }
  members.set(key, [node]);
  return 'ok';
};

const inheritMacro: MacroHandler = (parser, _chunk, call) => {
  const top = parser.top;
  const lookup = parser.settings.lowercase ? asciiLower(call.value) : call.value;
  const parent = top?.members?.get(lookup)?.[0];
  if (!parent || parent.type !== 'object') fail(call, `cannot inherit from "${call.value}": no such object at the top level`);
  const target = parser.stack[parser.stack.length - 1].node;
  if (target.type !== 'object' || !target.members) fail(call, '.inherit is only allowed inside an object');
  let replace = false;
  for (const { name, node } of options(call.args)) {
    if (name === 'replace' && node.type === 'bool') replace = node.scalar === true;
  }
  for (const [name, list] of parent.members as Map<string, PNode[]>) {
    const existing = target.members.get(name);
    if (existing && !replace) continue;
    const head = list[0];
    const copies = head.type === 'object' || head.type === 'array' ? [head.copy()] : list.map((node) => node.copy());
    if (!replace) copies[0].inherited = true;
    if (existing) existing.push(...copies);
    else target.members.set(name, copies);
  }
  return 'ok';
};

export const MACROS: Record<string, MacroHandler> = {
  include: includeMacro(false),
  try_include: includeMacro(true),
  includes: includeMacro(false),
  priority: priorityMacro,
  load: loadMacro,
  inherit: inheritMacro,
};
