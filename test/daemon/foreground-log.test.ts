/**
 * vmstated -f logs to stderr. When that goes away (the terminal closed: EIO; a pipe whose reader
 * died: EPIPE), the daemon must go on serving quietly: each failed write used to be an uncaught
 * error, logged by another write that failed, a loop that kept a CPU busy for ever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { VMSTATED_BIN } from '../helpers/paths.js';
import { createVmstatedEnv, waitFor } from '../helpers/vmstated-env.js';

/** Write system calls the process made so far (Linux /proc/<pid>/io). */
function writeCalls(pid: number): number {
  return Number(/^syscw: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
}

test('a foreground daemon whose stderr went away serves on and does not spin on failed log writes', async (t) => {
  const env = createVmstatedEnv();
  t.after(() => env.destroy());
  env.writeVm('web');
  const daemon = spawn(process.execPath, [VMSTATED_BIN, '-f', ...env.args()], { env: env.env, stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => daemon.kill('SIGKILL'));
  let stderr = '';
  daemon.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor('the daemon to serve', () => (stderr.includes('vmstated serving') ? true : undefined));
  daemon.stderr.destroy(); // the reader goes: the daemon's next log line meets EPIPE

  const client = await env.client();
  t.after(() => client.close());
  await client.request('start', { vm: 'web' }, { timeoutMs: 30_000 }); // logs several lines
  const before = writeCalls(daemon.pid!);
  await client.request('status', {});
  await client.request('stop', { vm: 'web' }, { timeoutMs: 30_000 });
  const after = writeCalls(daemon.pid!);
  assert.ok(after - before < 500, `a stop and a status took ${after - before} write calls (a logging loop makes thousands)`);
  assert.equal((await env.status('web')).state, 'stopped');
  daemon.kill('SIGTERM');
  const [code] = await once(daemon, 'exit');
  assert.equal(code, 0, 'it still shuts down cleanly');
});
