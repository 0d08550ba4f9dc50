/** A step of a lifecycle sequence failed: the VM goes into failure mode for this reason (in words). */
export interface FailureDetails {
  /** bhyve's last stderr lines, when they tell why (a failed start): the reply carries them. */
  bhyveStderr?: string[];
  /** The vmm instance is not ours (another bhyve runs it): failure mode must not destroy it. */
  keepInstance?: boolean;
}

export class SequenceFailure extends Error {
  constructor(
    message: string,
    readonly details: FailureDetails = {},
  ) {
    super(message);
  }
}
