/** sysexits(3) exit statuses the tree uses, as FreeBSD's own programs use them. */

/** The command line was wrong: a bad option, argument or value. */
export const EX_USAGE = 64;
/** An operating system error: a resource could not be had (e.g. bhyve cannot activate a vCPU). */
export const EX_OSERR = 71;
