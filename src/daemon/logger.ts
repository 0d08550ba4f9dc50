/**
 * The daemon log: pino JSON lines in `<logdir>/vmstated.log`, or human-readable lines on stderr in
 * the foreground. SIGHUP reopens the file (newsyslog rotates it by renaming).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { LOG_FILE_MODE, narrowFileMode } from '../shared/file-mode.js';

export type { Logger };

export interface DaemonLog {
  log: Logger;
  /** Reopen the log file after a rotation (no-op on stderr). */
  reopen(): void;
  /** Write out everything still buffered (before exit). */
  flush(): void;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** A field that says nothing (`args={}`, `added=[]`, `vm=null`): left out of the human line. */
function isEmptyField(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** Turns one pino JSON line into `time LEVEL message key=value ...`. */
export function humanLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString() : '';
  const level = (LEVEL_NAMES[record.level as number] ?? String(record.level)).padEnd(5);
  const fields = Object.entries(record)
    .filter(([key, value]) => !HIDDEN_KEYS.has(key) && !isEmptyField(value))
    .map(([key, value]) => {
      if (key === 'err' && value !== null && typeof value === 'object') {
        const err = value as { message?: unknown; stack?: unknown };
        return `err=${JSON.stringify(String(err.message ?? ''))}`;
      }
      return `${key}=${typeof value === 'string' && !/\s|"/.test(value) ? value : JSON.stringify(value)}`;
    });
  return `${time} ${level} ${String(record.msg ?? '')}${fields.length > 0 ? ' ' + fields.join(' ') : ''}\n`;
}

export function createDaemonLog(options: { foreground: boolean; verbose: boolean; logdir: string }): DaemonLog {
  const level = options.verbose ? 'debug' : 'info';
  if (options.foreground) {
    // A terminal that went away (EIO) or a closed pipe (EPIPE) ends the foreground log, not the
    // daemon: without this, each failed write was an uncaught error, logged by a write that failed.
    let stderrGone = false;
    process.stderr.on('error', () => (stderrGone = true));
    const stream = { write: (line: string): void => void (stderrGone || process.stderr.write(humanLine(line))) };
    return { log: pino({ level, base: undefined }, stream), reopen: () => {}, flush: () => {} };
  }
  fs.mkdirSync(options.logdir, { recursive: true, mode: 0o750 });
  const file = path.join(options.logdir, 'vmstated.log');
  // Synchronous: the daemon logs little, and an async destination loses lines at exit.
  const destination = pino.destination({ dest: file, sync: true, mkdir: true, mode: LOG_FILE_MODE });
  narrowFileMode(file, LOG_FILE_MODE);
  return {
    log: pino({ level, base: { pid: process.pid } }, destination),
    reopen: () => destination.reopen(),
    flush: () => destination.flushSync(),
  };
}
