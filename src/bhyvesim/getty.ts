/**
 * The simulated guest's login prompt on a serial console: `<name> login: `, echo of what is typed
 * (as a getty's terminal does), and after Enter `you typed: <line>` and the prompt again. Enough
 * for tests and the demo to see that keystrokes reach the guest and its answers come back.
 */

/** A longer line is cut (a simulated guest keeps no unbounded buffer). */
const MAX_LINE = 256;
const BACKSPACE = 0x08;
const DELETE = 0x7f;

export class SimulatedGetty {
  private line = '';

  constructor(
    private readonly name: string,
    private readonly write: (text: string) => void,
  ) {}

  prompt(): void {
    this.write(`${this.name} login: `);
  }

  /** Bytes typed on the console. */
  input(chunk: Buffer): void {
    for (const byte of chunk) {
      if (byte === 0x0d || byte === 0x0a) this.enter();
      else if (byte === BACKSPACE || byte === DELETE) this.erase();
      else if (byte >= 0x20 && byte < 0x7f && this.line.length < MAX_LINE) {
        const char = String.fromCharCode(byte);
        this.line += char;
        this.write(char);
      }
    }
  }

  private enter(): void {
    const line = this.line;
    this.line = '';
    this.write('\r\n');
    if (line !== '') this.write(`you typed: ${line}\r\n`);
    this.prompt();
  }

  private erase(): void {
    if (this.line === '') return;
    this.line = this.line.slice(0, -1);
    this.write('\b \b');
  }
}
