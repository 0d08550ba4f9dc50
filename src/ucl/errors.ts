/** The only error the UCL parser throws. Lines and columns are 1-based; 0 means "no position". */
export class UclError extends Error {
  file?: string;
  line: number;
  column: number;

  constructor(message: string, position: { file?: string; line: number; column: number }) {
    super(message);
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
