/**
 * The UCL state machine. It follows libucl 0.9's parser (ucl_parser.c) rule
 * for rule — where values end, implicit arrays, named sections ("a b { }" is
 * a { b { } }), priorities and duplicate strategies — so that a file means
 * the same here as in FreeBSD's libucl.
 */
import {
  DIGIT_START, KEY, KEY_SEP, KEY_START, VALUE_END, WHITESPACE, WHITESPACE_UNSAFE, asciiLower, charClass,
} from './chars.js';
import { UclError } from './errors.js';
import {
  atComment, describeChar, isComment, lexJsonString, lexSquotedString, skipComments, skipWhile,
} from './lexer.js';
import { NumberRangeError, lexNumber } from './number.js';
import { MACROS } from './macros.js';
import { expandVariables, unescapeJson, unescapeSquoted } from './strings.js';
import { type Chunk, type ChunkResult, makeChunk, positionIn } from './chunk.js';
import { PNode, type SourcePos } from './tree.js';

export type { Chunk, ChunkResult, Strategy } from './chunk.js';

export interface Frame {
  node: PNode;
  /** Frames opened by a run of keys ("a b c {") share a level above their parent's. */
  level: number;
  /** Opened by '{' or '[' (so a closing brace may end it). */
  braced: boolean;
  chunk: Chunk;
  /** The frame a chunk (the document or an included file) parses into. */
  base: boolean;
  open: SourcePos;
}

export interface ParserSettings {
  lowercase: boolean;
  vars: Map<string, string>;
  /** Real path of the file being parsed (to refuse a file including itself). */
  curFile?: string;
  cwd: string;
  includePaths: string[] | null;
  /** Reads an included or loaded file; throws to refuse it. */
  readFile: (file: string) => Uint8Array;
  /** Whether a readFile error is reported even where a missing file is not (UclParseOptions.isRefusal). */
  isRefusal: (error: unknown) => boolean;
}

const enum State { Key, Value, AfterValue }

/** libucl's UCL_MAX_RECURSION: the document plus nested includes. */
const MAX_CHUNKS = 16;
/** Deeper nesting than this is refused rather than risking the stack. */
const MAX_NESTING = 1000;

function parseBoolean(text: string): boolean | undefined {
  switch (text.length) {
    case 2: { const l = text.toLowerCase(); return l === 'no' ? false : l === 'on' ? true : undefined; }
    case 3: { const l = text.toLowerCase(); return l === 'yes' ? true : l === 'off' ? false : undefined; }
    case 4: return text.toLowerCase() === 'true' ? true : undefined;
    case 5: return text.toLowerCase() === 'false' ? false : undefined;
    default: return undefined;
  }
}

export class Parser {
  readonly stack: Frame[] = [];
  top: PNode | null = null;
  /** The node the next value goes into (libucl's cur_obj). */
  cur: PNode | null = null;
  private chunks = 0;
  private runScan: { chunk: Chunk | null; from: number; to: number; nested: boolean } = { chunk: null, from: 0, to: 0, nested: false };

  constructor(readonly settings: ParserSettings) {}

  /** Parses a whole document; a silent stop (libucl's failing .try_include) keeps what was read. */
  parseDocument(text: string, file: string | undefined): PNode {
    this.runChunk(makeChunk(text, file, 0, 'append'));
    if (!this.top) this.top = this.newContainer('object', { line: 1, column: 1, ...(file !== undefined ? { file } : {}) }, 0);
    return this.top;
  }

  runChunk(chunk: Chunk): ChunkResult {
    if (this.chunks >= MAX_CHUNKS) {
      this.fail(chunk, 0, `includes nest too deeply (more than ${MAX_CHUNKS - 1} levels)`);
    }
    this.chunks++;
    try {
      return this.machine(chunk);
    } finally {
      this.chunks--;
    }
  }

  // ---- positions and errors ----

  position(chunk: Chunk, index: number): SourcePos {
    return positionIn(chunk, index);
  }

  fail(chunk: Chunk, index: number, message: string): never {
    throw new UclError(message, this.position(chunk, Math.min(index, chunk.end)));
  }

  private topFrame(): Frame {
    return this.stack[this.stack.length - 1];
  }

  newContainer(type: 'object' | 'array', pos: SourcePos, priority: number): PNode {
    const node = new PNode(priority, pos);
    node.type = type;
    if (type === 'object') node.members = new Map();
    else node.items = [];
    return node;
  }

  pushFrame(frame: Frame): void {
    if (this.stack.length >= MAX_NESTING) {
      throw new UclError(`objects and arrays nest too deeply (more than ${MAX_NESTING} levels)`, frame.open);
    }
    this.stack.push(frame);
  }

  // ---- the state machine ----

  private machine(ch: Chunk): ChunkResult {
    skipComments(ch);
    skipWhile(ch, WHITESPACE_UNSAFE);
    if (ch.pos >= ch.end) {
      if (!this.top) this.top = this.newContainer('object', this.position(ch, 0), ch.priority);
      return 'ok';
    }
    const first = ch.text.charCodeAt(ch.pos);
    const open = this.position(ch, ch.pos);
    let state = State.Key;
    let braced = false;
    if (first === 0x5b) {
      if (this.top) this.fail(ch, ch.pos, 'an included file cannot be an array');
      braced = true;
      state = State.Value;
      ch.pos++;
    } else if (first === 0x7b) {
      braced = true;
      ch.pos++;
    }
    if (!this.top) {
      this.top = this.newContainer(state === State.Value ? 'array' : 'object', open, ch.priority);
      this.pushFrame({ node: this.top, level: 0, braced, chunk: ch, base: true, open });
    } else {
      const outer = this.topFrame();
      this.pushFrame({ node: outer.node, level: outer.level, braced, chunk: ch, base: true, open });
    }
    this.cur = this.top;

    while (ch.pos < ch.end) {
      if (state === State.Key) {
        skipWhile(ch, WHITESPACE_UNSAFE);
        if (ch.pos >= ch.end || ch.text.charCodeAt(ch.pos) === 0x7d) {
          state = State.AfterValue;
          continue;
        }
        const kind = this.parseKey(ch);
        if (kind === 'end') {
          state = State.AfterValue;
        } else if (kind === 'macro') {
          if (this.runMacro(ch) === 'stopped') return 'stopped';
        } else if (kind === 'nested') {
          const frame = this.topFrame();
          this.openContainer(ch, this.cur as PNode, 'object', frame.level + 1, false, ch.pos);
        } else if (kind === 'value') {
          state = State.Value;
        }
      } else if (state === State.Value) {
        const next = this.parseValue(ch);
        if (next !== null) state = next;
      } else {
        if (this.parseAfterValue(ch) === 'done') return 'ok';
        state = this.topFrame().node.type === 'object' ? State.Key : State.Value;
      }
    }

    for (const frame of this.stack) {
      if (frame.chunk === ch && frame.braced) {
        const brace = frame.node.type === 'array' ? '[' : '{';
        throw new UclError(`'${brace}' is never closed (the file ends first)`, frame.open);
      }
    }
    return 'ok';
  }

  // ---- keys ----

  private parseKey(ch: Chunk): 'end' | 'macro' | 'none' | 'nested' | 'value' {
    const text = ch.text;
    const end = ch.end;
    if (text.charCodeAt(ch.pos) === 0x2e) {
      ch.pos++;
      return 'macro';
    }
    let keyStart = -1;
    let quoted = false;
    while (ch.pos < end) {
      const c = text.charCodeAt(ch.pos);
      if (atComment(ch)) {
        skipComments(ch);
      } else if ((charClass(c) & WHITESPACE_UNSAFE) !== 0) {
        ch.pos++;
      } else if ((charClass(c) & KEY_START) !== 0) {
        keyStart = ch.pos++;
        break;
      } else if (c === 0x22) {
        keyStart = ch.pos;
        quoted = true;
        break;
      } else if (c === 0x7d) {
        return 'end';
      } else if (c === 0x2e) {
        ch.pos++;
        return 'macro';
      } else {
        this.fail(ch, ch.pos, `a key cannot start with ${describeChar(c)}`);
      }
    }
    if (keyStart < 0) return 'none';

    let keyEnd: number;
    let needUnescape = false;
    if (!quoted) {
      while (ch.pos < end) {
        const c = text.charCodeAt(ch.pos);
        const cls = charClass(c);
        if ((cls & KEY) !== 0) {
          ch.pos++;
        } else if ((cls & KEY_SEP) !== 0) {
          break;
        } else {
          const name = text.slice(keyStart, ch.pos);
          if (c === 10 || c === 13) this.fail(ch, ch.pos, `missing value for key "${name}"`);
          this.fail(ch, ch.pos, `invalid character ${describeChar(c)} in key "${name}"`);
        }
      }
      keyEnd = ch.pos;
    } else {
      needUnescape = lexJsonString(ch).needUnescape;
      keyEnd = ch.pos - 1;
    }
    const written = text.slice(quoted ? keyStart + 1 : keyStart, keyEnd);
    if (ch.pos >= end) this.fail(ch, ch.pos, `missing value for key "${written}"`);

    let gotEq = false;
    let gotColon = false;
    while (ch.pos < end) {
      const c = text.charCodeAt(ch.pos);
      if ((charClass(c) & WHITESPACE) !== 0) {
        ch.pos++;
      } else if (c === 0x3d || c === 0x3a) {
        if (gotEq || gotColon) this.fail(ch, ch.pos, `unexpected ${describeChar(c)} after key "${written}"`);
        if (c === 0x3d) gotEq = true;
        else gotColon = true;
        ch.pos++;
      } else if (atComment(ch)) {
        skipComments(ch);
      } else {
        break;
      }
    }
    if (ch.pos >= end) this.fail(ch, ch.pos, `missing value for key "${written}"`);

    const nested = !gotEq && !gotColon && this.startsKeyRun(ch);

    let name = this.settings.lowercase ? asciiLower(written) : written;
    if (needUnescape) name = unescapeJson(name);
    if (name.length === 0) this.fail(ch, keyStart, 'empty keys are not allowed');
    const keyPos = this.position(ch, keyStart);
    const node = new PNode(ch.priority, keyPos);
    node.key = { name: needUnescape ? unescapeJson(written) : written, line: keyPos.line, column: keyPos.column };
    this.cur = this.addMember(ch, name, node, keyStart);
    return nested ? 'nested' : 'value';
  }

  /**
   * Without '=' or ':', "key1 key2 { ... }" nests objects while "key value" is
   * a plain pair: a '{' or '[' later on the line (before , or ;) decides. The
   * last scan is remembered so a long run of keys is not rescanned for each key.
   */
  private startsKeyRun(ch: Chunk): boolean {
    const text = ch.text;
    const end = ch.end;
    let t = ch.pos;
    while (t < end && (charClass(text.charCodeAt(t)) & WHITESPACE) !== 0) t++;
    const c0 = text.charCodeAt(t);
    if (c0 === 0x7b || c0 === 0x5b) return false;
    const cache = this.runScan;
    if (cache.chunk === ch && t >= cache.from && t < cache.to) return cache.nested;
    const from = t;
    let nested = false;
    for (; t < end; t++) {
      const c = text.charCodeAt(t);
      if (c === 0x2c || c === 0x3b || c === 10 || c === 13) break;
      if (c === 0x7b || c === 0x5b) {
        nested = true;
        break;
      }
    }
    this.runScan = { chunk: ch, from, to: t, nested };
    return nested;
  }

  /** Adds a member to the current object with libucl's priority and duplicate rules. */
  private addMember(ch: Chunk, name: string, node: PNode, at: number): PNode {
    const members = this.topFrame().node.members as Map<string, PNode[]>;
    const list = members.get(name);
    if (!list) {
      members.set(name, [node]);
      return node;
    }
    const existing = list[0];
    const oldPriority = existing.priority;
    let newPriority = node.priority;
    switch (ch.strategy) {
      case 'rewrite':
        members.set(name, [node]);
        return node;
      case 'error':
        return this.fail(ch, at, `duplicate key "${name}"`);
      case 'merge':
        if (existing.type === 'object' || existing.type === 'array') return existing;
        break;
      case 'append':
        if (existing.inherited) newPriority = oldPriority + 1;
        break;
    }
    if (oldPriority === newPriority) list.push(node);
    else if (oldPriority < newPriority) members.set(name, [node]);
    // a lower priority value is parsed but dropped
    return node;
  }

  // ---- values ----

  private valueTarget(ch: Chunk, at: number): PNode {
    const frame = this.topFrame();
    if (frame.node.type === 'array') {
      const node = new PNode(ch.priority, this.position(ch, at));
      (frame.node.items as PNode[]).push(node);
      this.cur = node;
      return node;
    }
    if (!this.cur) return this.fail(ch, at, 'a value needs a key here');
    return this.cur;
  }

  private openContainer(ch: Chunk, node: PNode, type: 'object' | 'array', level: number, braced: boolean, at: number): void {
    const other = type === 'object' ? 'array' : 'object';
    if (node.type === other) this.fail(ch, at, `cannot merge an ${other} with an ${type}`);
    const open = this.position(ch, at);
    if (node.type !== type) {
      node.type = type;
      node.scalar = null;
      node.members = type === 'object' ? new Map() : null;
      node.items = type === 'array' ? [] : null;
      node.pos = open;
      node.raw = '';
    }
    this.pushFrame({ node, level, braced, chunk: ch, base: false, open });
    this.cur = node;
  }

  private parseValue(ch: Chunk): State | null {
    const text = ch.text;
    if (ch.pos < ch.end && ((charClass(text.charCodeAt(ch.pos)) & WHITESPACE_UNSAFE) !== 0 || atComment(ch))) {
      skipWhile(ch, WHITESPACE_UNSAFE);
      skipComments(ch);
    }
    if (ch.pos >= ch.end) return null;
    const start = ch.pos;
    const c = text.charCodeAt(start);
    let node: PNode | null = null;
    switch (c) {
      case 0x22: { // "
        const { needUnescape, varExpand } = lexJsonString(ch);
        node = this.valueTarget(ch, start);
        let value = text.slice(start + 1, ch.pos - 1);
        if (needUnescape) value = unescapeJson(value);
        if (varExpand) value = expandVariables(value, this.settings.vars);
        node.setScalar('string', value, text.slice(start, ch.pos), this.position(ch, start));
        return State.AfterValue;
      }
      case 0x27: { // '
        const needUnescape = lexSquotedString(ch);
        node = this.valueTarget(ch, start);
        let value = text.slice(start + 1, ch.pos - 1);
        if (needUnescape) value = unescapeSquoted(value);
        node.setScalar('string', value, text.slice(start, ch.pos), this.position(ch, start));
        return State.AfterValue;
      }
      case 0x7b: // {
        node = this.valueTarget(ch, start);
        this.openContainer(ch, node, 'object', this.topFrame().level, true, start);
        ch.pos++;
        return State.Key;
      case 0x5b: // [
        node = this.valueTarget(ch, start);
        this.openContainer(ch, node, 'array', this.topFrame().level, true, start);
        ch.pos++;
        return State.Value;
      case 0x5d: // ]
        if (this.topFrame().node.type === 'array') return State.AfterValue;
        break;
      case 0x3c: // <
        node = this.valueTarget(ch, start);
        if (this.parseHeredoc(ch, node)) return State.AfterValue;
        break;
    }
    return this.parseAtom(ch, node ?? this.valueTarget(ch, start));
  }

  /** `<<EOD` ... `EOD`: the terminator must start a line and be followed by a newline, ';', ',' or the end. */
  private parseHeredoc(ch: Chunk, node: PNode): boolean {
    const text = ch.text;
    const start = ch.pos;
    if (ch.end - start <= 3 || text.charCodeAt(start + 1) !== 0x3c) return false;
    let q = start + 2;
    while (q < ch.end && text.charCodeAt(q) >= 0x41 && text.charCodeAt(q) <= 0x5a) q++;
    if (q >= ch.end || text.charCodeAt(q) !== 10) return false;
    const term = text.slice(start + 2, q);
    const contentStart = q + 1;
    let p = contentStart;
    let newline = false;
    let varExpand = false;
    let length = -1;
    while (p < ch.end) {
      if (newline) {
        if (ch.end - p < term.length) break;
        if (text.startsWith(term, p)) {
          const after = p + term.length;
          const t = text.charCodeAt(after);
          if (after >= ch.end || t === 10 || t === 0x3b || t === 0x2c) {
            length = p - contentStart;
            ch.pos = after;
            break;
          }
          p++;
          continue;
        }
      }
      const c = text.charCodeAt(p);
      if (c === 10) {
        newline = true;
      } else {
        if (c === 0x24) varExpand = true;
        newline = false;
      }
      p++;
    }
    if (length <= 0) this.fail(ch, start, `heredoc is never closed (no line "${term}")`);
    let value = text.slice(contentStart, contentStart + length - 1);
    if (varExpand) value = expandVariables(value, this.settings.vars);
    node.setScalar('string', value, text.slice(start, ch.pos), this.position(ch, start));
    return true;
  }

  /** A number, boolean, null or unquoted string. */
  private parseAtom(ch: Chunk, node: PNode): State {
    const text = ch.text;
    const end = ch.end;
    const start = ch.pos;
    const pos = this.position(ch, start);
    if ((charClass(text.charCodeAt(start)) & DIGIT_START) !== 0) {
      let number;
      try {
        number = lexNumber(text, start, end);
      } catch (e) {
        if (e instanceof NumberRangeError) this.fail(ch, start, `number out of range: ${text.slice(start, start + 40).split(/[\s;,\]}]/)[0]}`);
        throw e;
      }
      if (number) {
        let rawEnd = number.end;
        while (rawEnd > start && (charClass(text.charCodeAt(rawEnd - 1)) & WHITESPACE) !== 0) rawEnd--;
        node.setScalar(number.type, number.value, text.slice(start, rawEnd), pos);
        ch.pos = number.end;
        return State.AfterValue;
      }
    }

    let i = start;
    let curlyOpen = 0;
    let curlyClose = 0;
    let squareOpen = 0;
    let squareClose = 0;
    let varExpand = false;
    let needUnescape = false;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c === 0x7b) {
        curlyOpen++;
      } else if (c === 0x7d) {
        if (++curlyClose <= curlyOpen) { i++; continue; }
      } else if (c === 0x5b) {
        squareOpen++;
      } else if (c === 0x5d) {
        if (++squareClose <= squareOpen) { i++; continue; }
      } else if (c === 0x24) {
        varExpand = true;
      } else if (c === 0x5c) {
        needUnescape = true;
        i += i + 1 < end ? 2 : 1;
        continue;
      }
      if ((charClass(c) & VALUE_END) !== 0 || (end - i >= 2 && isComment(c, text.charCodeAt(i + 1)))) break;
      i++;
    }
    ch.pos = i;
    let j = i;
    while (j > start && (charClass(text.charCodeAt(j - 1)) & WHITESPACE) !== 0) j--;
    if (j <= start) {
      const what = node.key ? `missing value for key "${node.key.name}"` : 'missing value';
      this.fail(ch, i, `unexpected ${describeChar(text.charCodeAt(i))} (${what})`);
    }
    const raw = text.slice(start, j);
    if (raw === 'null') {
      node.setScalar('null', null, raw, pos);
    } else if (raw === 'nan') {
      node.setScalar('float', NaN, raw, pos);
    } else if (raw === 'inf') {
      node.setScalar('float', Infinity, raw, pos);
    } else {
      const bool = parseBoolean(raw);
      if (bool !== undefined) {
        node.setScalar('bool', bool, raw, pos);
      } else {
        let value = needUnescape ? unescapeJson(raw) : raw;
        if (varExpand) value = expandVariables(value, this.settings.vars);
        node.setScalar('string', value, raw, pos);
      }
    }
    return State.AfterValue;
  }

  /** After a value: separators, comments, and closing braces. 'done' when the chunk's own frame closed. */
  private parseAfterValue(ch: Chunk): 'done' | 'next' {
    const text = ch.text;
    let gotSep = false;
    while (ch.pos < ch.end) {
      const c = text.charCodeAt(ch.pos);
      const cls = charClass(c);
      if ((cls & WHITESPACE) !== 0) {
        ch.pos++;
      } else if (atComment(ch)) {
        skipComments(ch);
        gotSep = true;
      } else if ((cls & VALUE_END) !== 0) {
        if (c === 0x7d || c === 0x5d) {
          const frame = this.topFrame();
          const matches = c === 0x7d ? frame.node.type === 'object' : frame.node.type === 'array';
          if (!matches) {
            const expected = frame.node.type === 'array' ? "']'" : "'}'";
            this.fail(ch, ch.pos, `unexpected ${describeChar(c)} (expected ${expected} or another value)`);
          }
          if (!frame.braced) this.fail(ch, ch.pos, `unexpected ${describeChar(c)} (no matching '${c === 0x7d ? '{' : '['}')`);
          this.stack.pop();
          if (frame.base) {
            ch.pos++;
            return 'done';
          }
          this.popKeyRunFrames();
          ch.pos++;
        } else {
          ch.pos++;
        }
        gotSep = true;
      } else {
        if (!gotSep) this.fail(ch, ch.pos, `unexpected ${describeChar(c)} after a value (missing ';' or newline?)`);
        return 'next';
      }
    }
    return 'next';
  }

  /** Closing "a b { }" also closes the frames its run of keys opened. */
  private popKeyRunFrames(): void {
    while (this.stack.length >= 2) {
      const frame = this.stack[this.stack.length - 1];
      if (frame.base || this.stack[this.stack.length - 2].level === frame.level) break;
      this.stack.pop();
    }
    this.cur = this.topFrame().node;
  }

  // ---- macros ----

  private skipSpacesAndComment(ch: Chunk): void {
    while (ch.pos < ch.end) {
      if ((charClass(ch.text.charCodeAt(ch.pos)) & WHITESPACE_UNSAFE) === 0) {
        if (atComment(ch)) skipComments(ch);
        return;
      }
      ch.pos++;
    }
  }

  private runMacro(ch: Chunk): ChunkResult {
    const text = ch.text;
    const dot = ch.pos - 1;
    const nameStart = ch.pos;
    while (ch.pos < ch.end) {
      const c = text.charCodeAt(ch.pos);
      if ((charClass(c) & WHITESPACE_UNSAFE) !== 0 || c === 0x28) break;
      ch.pos++;
    }
    if (ch.pos >= ch.end) return 'ok'; // libucl ignores a macro name at the very end
    const name = text.slice(nameStart, ch.pos);
    if (name.length === 0) this.fail(ch, dot, "missing macro name after '.'");
    const handler = Object.prototype.hasOwnProperty.call(MACROS, name) ? MACROS[name] : undefined;
    if (!handler) this.fail(ch, dot, `unknown macro '.${name}'`);
    this.skipSpacesAndComment(ch);
    if (ch.pos >= ch.end) return 'ok';
    let args: PNode | null = null;
    if (text.charCodeAt(ch.pos) === 0x28) {
      args = this.parseMacroArgs(ch);
      if (args) this.skipSpacesAndComment(ch);
    }
    const value = expandVariables(this.parseMacroValue(ch), this.settings.vars);
    return handler(this, ch, { name, value, args, at: this.position(ch, dot) });
  }

  private parseMacroArgs(ch: Chunk): PNode | null {
    const text = ch.text;
    const open = ch.pos;
    if (ch.end - open < 2) return null;
    let p = open + 1;
    let opened = 1;
    let closed = 0;
    let state = 0;
    let length = 0;
    while (p < ch.end) {
      if (state === 0) {
        const c = text.charCodeAt(p);
        if (c === 0x28) opened++;
        else if (c === 0x29) closed++;
        else if (c === 0x22) state = 1;
        if (opened === closed) state = 2;
        else length++;
        p++;
      } else if (state === 1) {
        if (text.charCodeAt(p) === 0x22 && text.charCodeAt(p - 1) !== 0x5c) state = 0;
        length++;
        p++;
      } else {
        break;
      }
    }
    ch.pos = p;
    if (state !== 2 || p >= ch.end) return null;
    const argsText = text.slice(open + 1, open + 1 + length);
    const sub = new Parser({
      lowercase: this.settings.lowercase,
      vars: new Map([['FILENAME', 'undef'], ['CURDIR', this.settings.cwd]]),
      cwd: this.settings.cwd,
      includePaths: null,
      readFile: this.settings.readFile,
      isRefusal: this.settings.isRefusal,
    });
    try {
      return sub.parseDocument(argsText, undefined);
    } catch (e) {
      const reason = e instanceof UclError ? `: ${e.message}` : '';
      return this.fail(ch, open, `invalid macro arguments${reason}`);
    }
  }

  private parseMacroValue(ch: Chunk): string {
    const text = ch.text;
    let value: string;
    const c = text.charCodeAt(ch.pos);
    if (c === 0x22) {
      const start = ch.pos;
      lexJsonString(ch);
      value = text.slice(start + 1, ch.pos - 1);
    } else if (c === 0x7b) {
      ch.pos++;
      skipWhile(ch, WHITESPACE_UNSAFE);
      const start = ch.pos;
      const close = text.indexOf('}', start);
      const stop = close < 0 || close >= ch.end ? ch.end : close;
      value = text.slice(start, stop);
      ch.pos = Math.min(ch.end, stop + 1);
    } else {
      const start = ch.pos;
      while (ch.pos < ch.end && (charClass(text.charCodeAt(ch.pos)) & VALUE_END) === 0) ch.pos++;
      value = text.slice(start, ch.pos);
    }
    while (ch.pos < ch.end) {
      const d = text.charCodeAt(ch.pos);
      if ((charClass(d) & WHITESPACE_UNSAFE) === 0 && d !== 0x3b) break;
      ch.pos++;
    }
    return value;
  }
}
