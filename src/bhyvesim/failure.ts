/** A reason for a simulated bhyve/bhyvectl to stop at once with a given exit status. */
export class SimExit extends Error {
  constructor(
    readonly exitCode: number,
    /** Printed on stderr (on stdout when exitCode is 0); empty: nothing. */
    message: string,
    /** Printed on stdout first. */
    readonly stdout = '',
  ) {
    super(message);
    this.name = 'SimExit';
  }
}
