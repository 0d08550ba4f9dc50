/**
 * vmstatedctl accepts its global options (-s sockpath, --json) before the command, as the
 * original vmstatedctl did, and after it. oclif only parses flags after the command id, so the
 * entry point moves the leading global options behind the command id.
 */

/** Global options that take a value, in their separate-token forms. */
const VALUE_OPTIONS = new Set(['-s', '--socket']);
const BOOLEAN_OPTIONS = new Set(['--json']);

function isAttachedValueOption(token: string): boolean {
  return (token.startsWith('-s') && token.length > 2 && !token.startsWith('--')) || token.startsWith('--socket=');
}

/**
 * Returns argv with the global options found before the command id moved right after it.
 * Anything it does not recognise (an unknown option before the command, `--`) stops the scan and
 * is left in place, so oclif reports it as a usage error.
 */
export function moveGlobalOptionsAfterCommand(argv: readonly string[]): string[] {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const token = argv[i]!;
    if (BOOLEAN_OPTIONS.has(token) || isAttachedValueOption(token)) {
      leading.push(token);
      i += 1;
    } else if (VALUE_OPTIONS.has(token) && i + 1 < argv.length) {
      leading.push(token, argv[i + 1]!);
      i += 2;
    } else {
      break;
    }
  }
  if (leading.length === 0) return [...argv];
  const command = argv[i];
  if (command === undefined || command.startsWith('-')) return [...argv];
  return [command, ...leading, ...argv.slice(i + 1)];
}
