/**
 * The detach escapes of `vmstatedctl console`, read from the keystrokes before they go to the
 * guest: `~.` at the start of a line (as cu(1) and ssh(1)), and Ctrl-] anywhere (as virsh). `~~`
 * at the start of a line sends one `~`; a `~` followed by anything else is sent as it is.
 */

const TILDE = 0x7e;
const DOT = 0x2e;
const CTRL_RIGHT_BRACKET = 0x1d;

export class EscapeReader {
  private atLineStart = true;
  private tildePending = false;

  /** Splits typed bytes into what goes to the guest and whether the user asked to detach. */
  push(typed: Buffer): { forward: Buffer; detach: boolean } {
    const forward: number[] = [];
    for (const byte of typed) {
      if (byte === CTRL_RIGHT_BRACKET) return { forward: Buffer.from(forward), detach: true };
      if (this.tildePending) {
        this.tildePending = false;
        if (byte === DOT) return { forward: Buffer.from(forward), detach: true };
        if (byte !== TILDE) forward.push(TILDE);
        forward.push(byte);
      } else if (byte === TILDE && this.atLineStart) {
        this.tildePending = true;
        continue;
      } else {
        forward.push(byte);
      }
      this.atLineStart = byte === 0x0d || byte === 0x0a;
    }
    return { forward: Buffer.from(forward), detach: false };
  }
}
