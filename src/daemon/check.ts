/** `vmstated -n`: check every VM config, print each problem as `file:line:column: message`. */

/** Returns the exit status: 1 when any config has an error (or the directory cannot be read), else 0. */
export async function checkConfigs(configdir: string): Promise<number> {
  const { checkConfigDir } = await import('../config/check.js');
  const { formatProblem } = await import('../config/format.js');
  let result: Awaited<ReturnType<typeof checkConfigDir>>;
  try {
    result = await checkConfigDir(configdir);
  } catch (err) {
    process.stderr.write(`vmstated: cannot check ${configdir}: ${(err as Error).message}\n`);
    return 1;
  }
  for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
  process.stdout.write(`${result.summary}\n`);
  return result.errorCount > 0 ? 1 : 0;
}
