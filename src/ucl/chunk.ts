/** A piece of text being parsed: the document or one included file. */

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
