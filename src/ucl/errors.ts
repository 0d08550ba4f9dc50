/** The only error the UCL parser throws. Lines and columns are 1-based; 0 means "no position". */
export class UclError extends Error {
  file?: string;
  line: number;
  column: number;

  /** `cause`: what made a file unreadable (the readFile option's error), when that is the problem. */
  constructor(message: string, position: { file?: string; line: number; column: number }, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UclError';
    if (position.file !== undefined) this.file = position.file;
    this.line = position.line;
    this.column = position.column;
  }

  /** `file:line:column: message`, for logs and command-line output. */
  describe(): string {
    const where = [this.file ?? '<string>', this.line, this.column].join(':');
    return `${where}: ${this.message}`;
  }
}

/** Why a file could not be read, in words: a refusal's `reason` (src/shared/safe-read.ts), or the error's. */
export function unreadableBecause(error: unknown): string {
  const reason = (error as { reason?: unknown }).reason;
  if (typeof reason === 'string') return reason;
  return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
}
