/**
 * The parts of @oclif/core that vmstatedctl uses, loaded with require() rather than import.
 *
 * @oclif/core is CommonJS. An ESM `import` of a CommonJS module makes Node re-read and lex its
 * source to find the export names (and recurse into re-exports) on top of require()'s own work;
 * for oclif's command/flags/args/errors/run/config modules that cost ~30 ms of every start.
 * Subpaths, not '@oclif/core': its index checks the Node version with semver (47 more modules).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type { Config } from '@oclif/core/config';

export const { Command } = require('@oclif/core/command') as typeof import('@oclif/core/command');
export const { CLIError } = require('@oclif/core/errors') as typeof import('@oclif/core/errors');
export type CLIError = InstanceType<typeof CLIError>;
export const Flags = require('@oclif/core/flags') as typeof import('@oclif/core/flags');
export const Args = require('@oclif/core/args') as typeof import('@oclif/core/args');

/** oclif's run(), flush() and Config/Plugin: needed by the entry point only. */
export function loadRunner(): {
  run: (typeof import('@oclif/core/run'))['run'];
  flush: (typeof import('@oclif/core/flush'))['flush'];
  Config: (typeof import('@oclif/core/config'))['Config'];
  Plugin: (typeof import('@oclif/core/config'))['Plugin'];
} {
  const { run } = require('@oclif/core/run') as typeof import('@oclif/core/run');
  const { flush } = require('@oclif/core/flush') as typeof import('@oclif/core/flush');
  const { Config, Plugin } = require('@oclif/core/config') as typeof import('@oclif/core/config');
  return { run, flush, Config, Plugin };
}
