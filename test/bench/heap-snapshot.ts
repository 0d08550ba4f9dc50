/**
 * The live JavaScript heap of a running vmstated or worker, from outside, with no code of theirs:
 * started with NODE_OPTIONS `--heapsnapshot-signal=SIGWINCH --diagnostic-dir=DIR`, Node writes a
 * heap snapshot to DIR when the process gets SIGWINCH (ignored by default, and by vmstated: no
 * terminal). A snapshot is taken after a full garbage collection, so its total is the heap in use
 * after a forced GC: what is left is live, not garbage not yet collected.
 */
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../helpers/vmstated-env.js';

export const HEAP_SNAPSHOT_SIGNAL = 'SIGWINCH';

/** NODE_OPTIONS that make a Node process write a heap snapshot into `dir` on HEAP_SNAPSHOT_SIGNAL. */
export function heapSnapshotNodeOptions(dir: string): string {
  return `--heapsnapshot-signal=${HEAP_SNAPSHOT_SIGNAL} --diagnostic-dir=${dir}`;
}

export interface HeapSummary {
  /** Bytes of every object in the heap after a full GC. */
  liveBytes: number;
  /** Bytes and count per kind: V8's node type (object, closure, string, code...) and, but for strings and numbers, its name. */
  kinds: Map<string, { bytes: number; count: number }>;
}

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function summarize(snapshot: RawSnapshot): HeapSummary {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number];
  const kinds = new Map<string, { bytes: number; count: number }>();
  let liveBytes = 0;
  for (let node = 0; node < snapshot.nodes.length; node += fields.length) {
    const type = types[snapshot.nodes[node + typeAt]!]!;
    const size = snapshot.nodes[node + sizeAt]!;
    // A string's name is its text, a number's its value: only their type says what they are.
    const named = !['string', 'concatenated string', 'sliced string', 'number', 'heap number', 'bigint'].includes(type);
    const kind = named ? `${type} ${snapshot.strings[snapshot.nodes[node + nameAt]!]!.slice(0, 60)}` : type;
    const entry = kinds.get(kind) ?? { bytes: 0, count: 0 };
    entry.bytes += size;
    entry.count += 1;
    kinds.set(kind, entry);
    liveBytes += size;
  }
  return { liveBytes, kinds };
}

/** Makes `pid` write a heap snapshot into `dir`, waits until it is whole, reads its summary and removes it. */
export async function takeHeapSnapshot(pid: number, dir: string, timeoutMs = 120_000): Promise<HeapSummary> {
  const ours = (name: string): boolean => name.endsWith('.heapsnapshot') && name.split('.').includes(String(pid));
  const before = new Set(fs.readdirSync(dir).filter(ours));
  process.kill(pid, HEAP_SNAPSHOT_SIGNAL);
  // Node writes the file in place: it is whole once it parses.
  return waitFor(`a heap snapshot of pid ${pid} in ${dir}`, () => {
    const name = fs.readdirSync(dir).find((file) => ours(file) && !before.has(file));
    if (name === undefined) return undefined;
    const file = path.join(dir, name);
    let snapshot: RawSnapshot;
    try {
      snapshot = JSON.parse(fs.readFileSync(file, 'utf8')) as RawSnapshot;
    } catch {
      return undefined;
    }
    fs.rmSync(file, { force: true });
    return summarize(snapshot);
  }, timeoutMs);
}

/** The kinds that grew most in bytes from `early` to `late`: "+123 KB string (+4567)". */
export function heapGrowth(early: HeapSummary, late: HeapSummary, top = 5): string[] {
  return [...late.kinds]
    .map(([kind, { bytes, count }]) => ({ kind, bytes: bytes - (early.kinds.get(kind)?.bytes ?? 0), count: count - (early.kinds.get(kind)?.count ?? 0) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top)
    .filter((grown) => grown.bytes > 0)
    .map((grown) => `+${(grown.bytes / 1024).toFixed(0)} KB ${grown.kind} (${grown.count >= 0 ? '+' : ''}${grown.count})`);
}
