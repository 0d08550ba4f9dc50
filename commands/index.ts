/**
 * Every vmstatedctl command by its name. oclif's explicit command discovery (package.json
 * `oclif.commands`) reads COMMANDS from the vmstatedctl bundle, which re-exports it: one file
 * holds all commands, so oclif neither globs a directory nor imports a file per command.
 *
 * Each property loads its command's module when it is first read. With oclif.manifest.json
 * (every command's flags and arguments) oclif reads only the property of the command it runs, so
 * `vmstatedctl status` does not evaluate console, top or their views, nor keep their code in the
 * code cache it loads. `require` exists only in the CommonJS bundle, where esbuild turns each call
 * into that module's initialisation: read COMMANDS from the bundle, not from this file.
 */
export const COMMANDS = {
  get console() { return (require('./console.js') as typeof import('./console.js')).default; },
  get events() { return (require('./events.js') as typeof import('./events.js')).default; },
  get failreset() { return (require('./failreset.js') as typeof import('./failreset.js')).default; },
  get logs() { return (require('./logs.js') as typeof import('./logs.js')).default; },
  get metrics() { return (require('./metrics.js') as typeof import('./metrics.js')).default; },
  get reload() { return (require('./reload.js') as typeof import('./reload.js')).default; },
  get restart() { return (require('./restart.js') as typeof import('./restart.js')).default; },
  get shutdown() { return (require('./shutdown.js') as typeof import('./shutdown.js')).default; },
  get start() { return (require('./start.js') as typeof import('./start.js')).default; },
  get status() { return (require('./status.js') as typeof import('./status.js')).default; },
  get stop() { return (require('./stop.js') as typeof import('./stop.js')).default; },
  get top() { return (require('./top.js') as typeof import('./top.js')).default; },
};
