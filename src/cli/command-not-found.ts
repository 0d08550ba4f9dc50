/**
 * vmstatedctl's command_not_found hook (package.json `oclif.hooks`): @oclif/plugin-not-found's.
 * It says the command does not exist and, when stdin is a terminal, asks "Did you mean status?
 * (y/N)" (y runs that command with the same arguments; Enter, n, or no answer in 10 s ends with the
 * usage error: the answer's default is set in src/build/bundle.ts). It is loaded only here, on the path of a mistyped command: it brings a prompt library
 * that no correct command needs at start-up.
 */
import type { Hook } from '@oclif/core/hooks';
import { EXIT } from './exit-codes.js';
import { CLIError } from './oclif.js';

/** The plugin's own exit status when nothing was run; vmstatedctl's for an unknown command is 2. */
const PLUGIN_NOT_FOUND_EXIT = 127;

const letters = (word: string): string => [...word].sort().join('');

/**
 * The command ids with those made of the typed letters first. The plugin offers the id at the least
 * Levenshtein distance, the first of a tie; two swapped letters cost 2, as much as another word:
 * `stauts` is as near to `start` as to `status`, and `start` comes first in name order.
 */
function swappedLettersFirst(commandIDs: readonly string[], typed: string): string[] {
  const typedLetters = letters(typed);
  const isAnagram = (id: string): number => (letters(id) === typedLetters ? 0 : 1);
  return [...commandIDs].sort((a, b) => isAnagram(a) - isAnagram(b));
}

export const commandNotFound: Hook.CommandNotFound = async function (options) {
  const notFound = new CLIError(`command ${options.id} not found`, { exit: EXIT.USAGE });
  // Off a terminal the plugin asks nothing and would only add a warning line before this error;
  // and it would offer `help`, which vmstatedctl does not have (its help is --help).
  if (!process.stdin.isTTY || options.id === 'help') throw notFound;
  const { default: suggest } = await import('@oclif/plugin-not-found');
  const commandIDs = swappedLettersFirst(options.config.commandIDs, options.id);
  const config = new Proxy(options.config, { get: (target, key) => (key === 'commandIDs' ? commandIDs : Reflect.get(target, key, target)) });
  try {
    return await suggest.call(this, { ...options, config });
  } catch (error) {
    if ((error as { oclif?: { exit?: number } }).oclif?.exit !== PLUGIN_NOT_FOUND_EXIT) throw error;
    throw notFound;
  }
};
