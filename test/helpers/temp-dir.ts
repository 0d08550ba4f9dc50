/** Temporary directories for tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory under the system's temporary directory, removed with its contents when the test ends. */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'vmstated-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
