/**
 * The parts of @oclif/core that vmstatedctl uses. Subpaths, not '@oclif/core': its index checks
 * the Node version with semver and loads modules vmstatedctl never needs. vmstatedctl runs from
 * one bundle (src/build/bundle.ts), so these imports cost no module resolution at run time.
 */
import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

export { Command } from '@oclif/core/command';
export { Config, Plugin } from '@oclif/core/config';
export { CLIError } from '@oclif/core/errors';
export { flush } from '@oclif/core/flush';
export { run } from '@oclif/core/run';
export { Args, Flags };
