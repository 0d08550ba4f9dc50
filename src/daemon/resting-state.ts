/**
 * What the registry knows about VMs at rest (stopped or failed: no worker keeps it) that a crash
 * or restart of the registry must not forget: a failed VM stays failed, with its reason, until
 * failreset (and so is not autostarted). Kept in `<rundir>/vmstated.state.json`, replaced
 * atomically; active VMs are found again through their workers' records instead. The run
 * directory lives under /var/run, which FreeBSD cleans at boot: a host reboot starts afresh.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../config/atomic.js';
import { MAX_STATE_BYTES, readRegularFileSync } from '../shared/safe-read.js';
import type { BhyveExit } from '../protocol/types.js';
import type { Logger } from './logger.js';

export const RESTING_STATE_FILE = 'vmstated.state.json';

/** One VM at rest, as saved. */
export interface RestingRecord {
  state: 'stopped' | 'failed';
  failureReason: string | null;
  lastExit: BhyveExit | null;
  since: string;
  restarts: number;
}

interface SavedFile {
  v: 1;
  vms: Record<string, RestingRecord>;
}

function isExit(value: unknown): value is BhyveExit {
  if (typeof value !== 'object' || value === null) return false;
  const exit = value as Record<string, unknown>;
  return (typeof exit.code === 'number' || exit.code === null) && (typeof exit.signal === 'string' || exit.signal === null) && typeof exit.meaning === 'string';
}

function asRecord(value: unknown): RestingRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  if (r.state !== 'stopped' && r.state !== 'failed') return null;
  if (typeof r.failureReason !== 'string' && r.failureReason !== null) return null;
  if (r.lastExit !== null && !isExit(r.lastExit)) return null;
  if (typeof r.since !== 'string' || Number.isNaN(Date.parse(r.since))) return null;
  if (typeof r.restarts !== 'number' || !Number.isInteger(r.restarts) || r.restarts < 0) return null;
  return { state: r.state, failureReason: r.failureReason, lastExit: r.lastExit, since: r.since, restarts: r.restarts };
}

/** Reads and writes the saved state; writes are serialized and skipped when nothing changed. */
export class RestingStateStore {
  readonly file: string;
  /** The text written last (or being written); null when unknown. */
  private lastText: string | null = null;
  private pendingText: string | null = null;
  private writing: Promise<void> | null = null;

  constructor(
    private readonly rundir: string,
    private readonly log: Logger,
  ) {
    this.file = path.join(rundir, RESTING_STATE_FILE);
  }

  /** The saved VMs by name; a missing or unreadable file gives none (and a line in the log), never an error. */
  load(): Map<string, RestingRecord> {
    const saved = new Map<string, RestingRecord>();
    let text: string;
    try {
      text = readRegularFileSync(this.file, { limit: MAX_STATE_BYTES }).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.log.info({ file: this.file }, 'no saved state of stopped or failed VMs (first start)');
      else this.log.warn({ file: this.file, err }, 'cannot read the saved state of stopped or failed VMs; ignoring it');
      return saved;
    }
    let parsed: Partial<SavedFile>;
    try {
      parsed = JSON.parse(text) as Partial<SavedFile>;
    } catch (err) {
      this.log.warn({ file: this.file, err }, 'the saved state of stopped or failed VMs is not valid JSON; ignoring it');
      return saved;
    }
    if (parsed?.v !== 1 || typeof parsed.vms !== 'object' || parsed.vms === null) {
      this.log.warn({ file: this.file }, 'the saved state of stopped or failed VMs has an unknown format; ignoring it');
      return saved;
    }
    for (const [name, value] of Object.entries(parsed.vms)) {
      const record = asRecord(value);
      if (record === null) this.log.warn({ file: this.file, vm: name }, 'ignoring a malformed entry in the saved state');
      else saved.set(name, record);
    }
    this.lastText = text;
    return saved;
  }

  /** Saves these VMs (replacing the file's content); returns at once, the write follows. */
  save(vms: Record<string, RestingRecord>): void {
    const text = JSON.stringify({ v: 1, vms } satisfies SavedFile) + '\n';
    if (text === (this.pendingText ?? this.lastText)) return;
    this.pendingText = text;
    this.writing ??= this.drain();
  }

  /** Resolves once every save so far is on disk (or has failed and been logged). */
  flush(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.pendingText !== null) {
      const text = this.pendingText;
      this.pendingText = null;
      this.lastText = text;
      try {
        fs.mkdirSync(this.rundir, { recursive: true, mode: 0o750 });
        await writeFileAtomic(this.file, Buffer.from(text), 0o600);
      } catch (err) {
        this.lastText = null;
        this.log.error({ file: this.file, err }, 'cannot save the state of stopped or failed VMs; a restart of vmstated would forget it');
      }
    }
    this.writing = null;
  }
}
