/**
 * Low-level scanning shared by the parser: whitespace, comments (libucl
 * nests C comments and ignores comment markers inside double quotes), and
 * quoted strings. Each function moves `chunk.pos` past what it read.
 */
import { ESCAPE, charClass, hexValue } from './chars.js';
import { type Chunk, positionIn } from './chunk.js';
import { UclError } from './errors.js';

export function fail(chunk: Chunk, index: number, message: string): never {
  throw new UclError(message, positionIn(chunk, Math.min(index, chunk.end)));
}

export function describeChar(code: number): string {
  if (Number.isNaN(code)) return 'end of file';
  if (code === 10 || code === 13) return 'end of line';
  if (code < 32 || code === 127) return `control character 0x${code.toString(16).padStart(2, '0')}`;
  return `'${String.fromCharCode(code)}'`;
}

export function isComment(c1: number, c2: number): boolean {
  return c1 === 0x23 || (c1 === 0x2f && c2 === 0x2a);
}

export function skipWhile(ch: Chunk, flag: number): void {
  const text = ch.text;
  let p = ch.pos;
  while (p < ch.end && (charClass(text.charCodeAt(p)) & flag) !== 0) p++;
  ch.pos = p;
}

/** Skips consecutive comments: `# ...` to the end of the line and nested C comments. */
export function skipComments(ch: Chunk): void {
  const text = ch.text;
  const end = ch.end;
  for (;;) {
    const p = ch.pos;
    if (p < end && text.charCodeAt(p) === 0x23) {
      const newline = text.indexOf('\n', p);
      if (newline < 0) {
        ch.pos = end;
        return;
      }
      ch.pos = newline + 1;
      continue;
    }
    if (end - p >= 2 && text.charCodeAt(p) === 0x2f && text.charCodeAt(p + 1) === 0x2a) {
      let i = p + 2;
      let nested = 1;
      let quoted = false;
      while (i < end) {
        const c = text.charCodeAt(i);
        if (c === 0x22 && text.charCodeAt(i - 1) !== 0x5c) quoted = !quoted;
        if (!quoted) {
          if (c === 0x2a && text.charCodeAt(i + 1) === 0x2f) {
            i += 2;
            if (--nested === 0) break;
            continue;
          }
          if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
            nested++;
            i += 2;
            continue;
          }
        }
        i++;
      }
      if (nested !== 0) fail(ch, p, "comment '/*' is never closed");
      ch.pos = i;
      continue;
    }
    return;
  }
}

export function atComment(ch: Chunk): boolean {
  return ch.end - ch.pos >= 2 && isComment(ch.text.charCodeAt(ch.pos), ch.text.charCodeAt(ch.pos + 1));
}

/** Reads a double-quoted string starting at the quote; leaves pos after the closing quote. */
export function lexJsonString(ch: Chunk): { needUnescape: boolean; varExpand: boolean } {
  const text = ch.text;
  const open = ch.pos;
  let p = open + 1;
  let needUnescape = false;
  let varExpand = false;
  while (p < ch.end) {
    const c = text.charCodeAt(p);
    if (c < 0x1f) {
      fail(ch, p, c === 10 ? 'newline inside a quoted string (missing closing \'"\'?)' : `${describeChar(c)} inside a quoted string`);
    }
    if (c === 0x5c) {
      p++;
      if (p >= ch.end) fail(ch, p, 'unfinished escape sequence at the end of the file');
      const e = text.charCodeAt(p);
      if ((charClass(e) & ESCAPE) !== 0) {
        if (e === 0x75) {
          p++;
          for (let i = 0; i < 4 && p < ch.end; i++, p++) {
            if (hexValue(text.charCodeAt(p)) < 0) fail(ch, p, 'invalid \\u escape (four hex digits expected)');
          }
          if (p >= ch.end) fail(ch, p, 'unfinished escape sequence at the end of the file');
        } else {
          p++;
        }
      }
      needUnescape = true;
      continue;
    }
    if (c === 0x22) {
      ch.pos = p + 1;
      return { needUnescape, varExpand };
    }
    if (c === 0x24) varExpand = true;
    p++;
  }
  return fail(ch, open, 'quoted string is never closed (missing \'"\')');
}

export function lexSquotedString(ch: Chunk): boolean {
  const text = ch.text;
  const open = ch.pos;
  let p = open + 1;
  let needUnescape = false;
  while (p < ch.end) {
    const c = text.charCodeAt(p);
    if (c === 0x5c) {
      p++;
      if (p >= ch.end) fail(ch, p, 'unfinished escape sequence at the end of the file');
      p++;
      needUnescape = true;
      continue;
    }
    if (c === 0x27) {
      ch.pos = p + 1;
      return needUnescape;
    }
    p++;
  }
  return fail(ch, open, "single-quoted string is never closed (missing \"'\")");
}
