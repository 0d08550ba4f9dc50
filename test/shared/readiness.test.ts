import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { awaitReadiness, readyPipeEnv, type Readiness } from '../../src/shared/readiness.js';

const READINESS_MODULE = fileURLToPath(new URL('../../src/shared/readiness.js', import.meta.url));

/** A child running `body` with the readiness functions in scope as `r`; what the parent sees of it. */
async function readinessOf(body: string, timeoutMs = 10_000): Promise<{ readiness: Readiness; pid: number | undefined }> {
  const script = `import(${JSON.stringify(READINESS_MODULE)}).then((r) => { ${body} });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'], env: readyPipeEnv() });
  const readiness = await awaitReadiness(child, timeoutMs);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return { readiness, pid: child.pid };
}

test('a child that reports ready resolves with its pid, and its environment no longer names the fd', async () => {
  const { readiness, pid } = await readinessOf('const fd = r.takeReadyFd(); if (process.env.VMSTATED_READY_FD === undefined) r.reportReady(fd); setTimeout(() => {}, 5000);');
  assert.deepEqual(readiness, { kind: 'ready', pid });
});

test('a child that reports a failure resolves with its words', async () => {
  const { readiness } = await readinessOf('r.reportFailure(r.takeReadyFd(), "cannot bind /x.sock");');
  assert.deepEqual(readiness, { kind: 'failed', error: 'cannot bind /x.sock' });
});

test('a child that exits before reporting resolves with how it ended', async () => {
  const { readiness } = await readinessOf('process.exit(3);');
  assert.deepEqual(readiness, { kind: 'ended', how: 'exited with status 3' });
});

test('a child killed before reporting resolves with the signal', async () => {
  const { readiness } = await readinessOf('process.kill(process.pid, "SIGKILL");');
  assert.deepEqual(readiness, { kind: 'ended', how: 'was killed by SIGKILL' });
});

test('a child that never reports resolves as a timeout', async () => {
  const { readiness } = await readinessOf('setTimeout(() => {}, 10_000);', 300);
  assert.deepEqual(readiness, { kind: 'timeout' });
});

test('an unreadable report is a failure that quotes it', async () => {
  const { readiness } = await readinessOf('require("fs").writeSync(3, "hello\\n"); setTimeout(() => {}, 5000);');
  assert.deepEqual(readiness, { kind: 'failed', error: 'an unreadable readiness report: hello' });
});
