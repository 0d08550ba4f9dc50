/**
 * Hostile things to put where vmstated expects a small file, for the fuzz tests: FIFOs,
 * directories, links (to a FIFO, to a device, in a loop), files too large to read (sparse, made at
 * once), binary noise, nesting too deep for a recursive reader, and JSON of the wrong shape.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export type Random = () => number;

/** Shapes that are not a regular file of sane size: every reader must refuse them without blocking. */
export const SPECIAL_SHAPES = ['fifo', 'directory', 'link to a fifo', 'link to /dev/zero', 'link loop', 'huge'] as const;
export type SpecialShape = (typeof SPECIAL_SHAPES)[number];

/** Replaces whatever is at `file` with `shape`; `hugeBytes` is the size of a huge one. */
export function writeSpecial(file: string, shape: SpecialShape, hugeBytes: number): void {
  fs.rmSync(file, { recursive: true, force: true });
  switch (shape) {
    case 'fifo':
      execFileSync('mkfifo', [file]);
      break;
    case 'directory':
      fs.mkdirSync(file);
      break;
    case 'link to a fifo':
      execFileSync('mkfifo', [`${file}.fifo`]);
      fs.symlinkSync(`${file}.fifo`, file);
      break;
    case 'link to /dev/zero':
      fs.symlinkSync('/dev/zero', file);
      break;
    case 'link loop':
      fs.symlinkSync(file, file);
      break;
    case 'huge':
      fs.writeFileSync(file, '{');
      fs.truncateSync(file, hugeBytes);
      break;
  }
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** A value of any JSON type, nested at most `depth` levels, with hostile strings and numbers. */
export function randomJson(random: Random, depth = 3): unknown {
  const kind = Math.floor(random() * (depth > 0 ? 9 : 7));
  switch (kind) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return pick(random, [0, -1, 1, 2 ** 53, -(2 ** 31), 1.5, 1e308, -0]); // not 2: a live pid (kthreadd, pagedaemon)
    case 3: return pick(random, ['', '..', '../../etc/passwd', '/etc/passwd', 'web', '\u0000', 'x'.repeat(5000), '2026-13-45T99:99:99Z', 'failed', 'stopped']);
    case 4: return Math.floor(random() * 2 ** 31);
    case 5: return String.fromCharCode(...Array.from({ length: 8 }, () => Math.floor(random() * 0xd7ff)));
    case 6: return [];
    case 7: return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth - 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [pick(random, ['v', 'vms', 'vm', 'state', 'workerPid', 'bhyvePid', 'socket', 'restartHistory', 'since', 'name', 'rundir', '__proto__']), randomJson(random, depth - 1)]));
  }
}

/** Text of a file that is meant to be `sane` JSON: sometimes that, mostly broken in some way. */
export function hostileJsonText(random: Random, sane: unknown): string {
  const text = JSON.stringify(sane);
  switch (Math.floor(random() * 8)) {
    case 0: return text;
    case 1: return text.slice(0, Math.floor(random() * text.length)); // cut by a crash
    case 2: return JSON.stringify(randomJson(random));
    case 3: return '['.repeat(100_000) + ']'.repeat(100_000); // deeper than any stack
    case 4: return Buffer.from(Array.from({ length: 256 }, () => Math.floor(random() * 256))).toString('latin1');
    case 5: return JSON.stringify(withHostileField(random, sane));
    case 6: return '';
    default: return `${text}\u0000${text}`;
  }
}

/** `sane` with one field, anywhere in it, replaced by a random value. */
function withHostileField(random: Random, sane: unknown): unknown {
  if (typeof sane !== 'object' || sane === null) return randomJson(random);
  const copy: Record<string, unknown> = Array.isArray(sane) ? { ...sane } : { ...(sane as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return randomJson(random);
  const key = pick(random, keys);
  copy[key] = random() < 0.5 ? randomJson(random) : withHostileField(random, copy[key]);
  return copy;
}
