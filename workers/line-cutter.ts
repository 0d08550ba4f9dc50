/**
 * Cuts a byte stream (bhyve's console, a hook's output) into log lines of at most MAX_PIECE_BYTES:
 * a longer line, or output that never prints a newline, is handed out in pieces as it comes, so
 * what waits for a newline is never more than one piece, whatever the guest or hook writes.
 * Pieces are cut between UTF-8 characters, never inside one. Pure: fed Buffer chunks, no I/O.
 */

/** Longest piece of a line, in bytes (newline excluded). */
export const MAX_PIECE_BYTES = 8 * 1024;

export interface Piece {
  text: string;
  /** True for the second and later pieces of one line: they continue the piece before. */
  continued: boolean;
}

const NEWLINE = 0x0a;

/** True for the second to fourth byte of a UTF-8 sequence (10xxxxxx). */
function isContinuationByte(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** Where to cut `bytes` at most `max` bytes in: not inside a UTF-8 character (unless it is not UTF-8). */
function cutPoint(bytes: Buffer, max: number): number {
  for (let at = max; at > max - 4 && at > 0; at--) {
    if (!isContinuationByte(bytes[at] as number)) return at;
  }
  return max;
}

export class LineCutter {
  private pending: Buffer = Buffer.alloc(0);
  /** True once a piece of the current line was handed out. */
  private inLine = false;

  constructor(private readonly maxPieceBytes = MAX_PIECE_BYTES) {}

  /** The pieces this chunk completes, in order. */
  push(chunk: Buffer): Piece[] {
    const out: Piece[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      this.append(chunk.subarray(start, newline === -1 ? chunk.length : newline), out);
      if (newline === -1) break;
      this.emit(this.pending, out);
      this.pending = Buffer.alloc(0);
      this.inLine = false;
      start = newline + 1;
    }
    return out;
  }

  /** The stream ended: a last line without a newline is handed out too. */
  end(): Piece[] {
    const out: Piece[] = [];
    if (this.pending.length > 0) this.emit(this.pending, out);
    this.pending = Buffer.alloc(0);
    this.inLine = false;
    return out;
  }

  /**
   * The unfinished line so far, handed out now (a prompt that waits for input: `login: `); what
   * follows on the same line comes as a continued piece.
   */
  flush(): Piece[] {
    const out: Piece[] = [];
    if (this.pending.length > 0) this.emit(this.pending, out);
    this.pending = Buffer.alloc(0);
    return out;
  }

  /** Bytes held for an unfinished piece (at most maxPieceBytes). */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  private append(segment: Buffer, out: Piece[]): void {
    if (segment.length === 0) return;
    let bytes = this.pending.length === 0 ? segment : Buffer.concat([this.pending, segment]);
    // A piece of exactly the maximum waits: the newline that may follow ends the line with it.
    while (bytes.length > this.maxPieceBytes) {
      const cut = cutPoint(bytes, this.maxPieceBytes);
      this.emit(bytes.subarray(0, cut), out);
      bytes = bytes.subarray(cut);
    }
    // A copy: a view would keep the whole socket chunk alive.
    this.pending = Buffer.from(bytes);
  }

  private emit(bytes: Buffer, out: Piece[]): void {
    out.push({ text: bytes.toString('utf8'), continued: this.inLine });
    this.inLine = true;
  }
}
