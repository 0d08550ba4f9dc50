/**
 * Every vmstatedctl command by its name. oclif's explicit command discovery (package.json
 * `oclif.commands`) reads COMMANDS from the vmstatedctl bundle, which re-exports it: one file
 * holds all commands, so oclif neither globs a directory nor imports a file per command.
 */
import Console from './console.js';
import Events from './events.js';
import Failreset from './failreset.js';
import Logs from './logs.js';
import Metrics from './metrics.js';
import Reload from './reload.js';
import Restart from './restart.js';
import Shutdown from './shutdown.js';
import Start from './start.js';
import Status from './status.js';
import Stop from './stop.js';
import Top from './top.js';

export const COMMANDS = {
  console: Console,
  events: Events,
  failreset: Failreset,
  logs: Logs,
  metrics: Metrics,
  reload: Reload,
  restart: Restart,
  shutdown: Shutdown,
  start: Start,
  status: Status,
  stop: Stop,
  top: Top,
};
