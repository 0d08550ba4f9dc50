/** The bench scripts' command-line options: `--name value`. */

/** The value after `--name`, or undefined when it is not given. */
export function stringOption(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

/** A positive number after `--name`, or `fallback`. */
export function numberOption(name: string, fallback: number): number {
  const given = stringOption(name);
  const value = given === undefined ? fallback : Number(given);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}
