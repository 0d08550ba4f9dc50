/** vmstatedctl's exit statuses; every command's --help lists them (EXIT_STATUS_HELP). */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** The daemon refused the request or the connection (a LIMIT), or the action failed. */
  FAILED: 1,
  /** Bad usage: unknown command, flag or argument. */
  USAGE: 2,
  /** The daemon cannot be reached (no socket, connection refused, timeout). */
  UNREACHABLE: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The EXIT STATUS section appended to every command's description. */
export const EXIT_STATUS_HELP =
  'Exit status: 0 done; 1 failed or refused by vmstated; 2 usage error; 3 vmstated cannot be reached ' +
  '(the socket is -s, else $VMSTATED_SOCKET, else /var/run/vmstated.sock).';
