/** A piece of text being parsed: the document or one included file. */
import type { SourcePos } from './tree.js';

export type Strategy = 'append' | 'merge' | 'rewrite' | 'error';

export interface Chunk {
  text: string;
  pos: number;
  end: number;
  /** Shown in node sources and errors. */
  file?: string;
  priority: number;
  strategy: Strategy;
  lineStarts: number[] | null;
}

/** What parsing a chunk ended with: 'stopped' is libucl's quiet stop (a failed .try_include). */
export type ChunkResult = 'ok' | 'stopped';

export function makeChunk(text: string, file: string | undefined, priority: number, strategy: Strategy): Chunk {
  const chunk: Chunk = { text, pos: 0, end: text.length, priority, strategy, lineStarts: null };
  if (file !== undefined) chunk.file = file;
  return chunk;
}

/** The 1-based line and column of an index in a chunk (line starts are found once per chunk). */
export function positionIn(chunk: Chunk, index: number): SourcePos {
  if (!chunk.lineStarts) {
    const starts = [0];
    const text = chunk.text;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    chunk.lineStarts = starts;
  }
  const starts = chunk.lineStarts;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= index) lo = mid;
    else hi = mid - 1;
  }
  const pos: SourcePos = { line: lo + 1, column: index - starts[lo] + 1 };
  if (chunk.file !== undefined) pos.file = chunk.file;
  return pos;
}
