/**
 * The reply budget per user (reply-budget.ts) against a real root daemon: nobody owns web, whose
 * log holds 8 MB, and opens connections that each ask for all of its tail three times and never
 * read (three replies stay under the cap of one connection, so none is cut off and what they hold
 * stays held). Once the replies waiting for nobody reach the budget, nobody's requests for bulk
 * output are refused with LIMIT, logged once, while another user and root are answered; when
 * nobody's connections close, the count goes back to zero.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LimitError } from '../../src/daemon/connection-limits.js';
import { PerUserGate } from '../../src/daemon/log-reads.js';
import { TAIL_WINDOW_BYTES } from '../../src/daemon/log-tail.js';
import { REPLY_BUDGET_BYTES_PER_USER, ReplyBudget } from '../../src/daemon/reply-budget.js';
import type { ControlClient } from '../../src/protocol/client.js';
import type { VmStatus } from '../../src/protocol/types.js';
import { waitFor } from '../helpers/vmstated-env.js';
import type { VmstatedEnv } from '../helpers/vmstated-env.js';
import { Hostile, NOBODY, envOpenToNobody } from './hostile.js';

const DAEMON_UID = 1; // `daemon`, the owner of db: a second local user
const LOG_BYTES = 8 * 1024 * 1024;
const SMALL_LOG_LINES = 300;
const WHOLE_TAIL = 100_000_000;

function logsRequest(id: number, vm: string, n: number): object {
  return { v: 1, id, cmd: 'logs', args: { vm, n } };
}

/** A VM log of `bytes`, in lines of 200 bytes, written before the daemon starts. */
function writeBigLog(env: VmstatedEnv, vm: string, bytes: number): void {
  fs.mkdirSync(env.logdir, { mode: 0o750, recursive: true });
  const line = (n: number): string => `2026-01-01T00:00:00.000Z console: line ${String(n).padStart(8, '0')} ${'x'.repeat(150)}`.padEnd(199, 'y') + '\n';
  const lines: string[] = [];
  for (let n = 0; n * 200 < bytes; n++) lines.push(line(n));
  fs.writeFileSync(path.join(env.logdir, `${vm}.log`), lines.join(''), { mode: 0o640 });
}

interface Accounting {
  unreadReplyBytes: number;
  /** `logs` requests answered or refused so far. */
  logsDone: number;
}

/** What root's `metrics` says of the reply budget and of the `logs` requests done. */
async function accounting(root: ControlClient): Promise<Accounting> {
  const { text } = await root.request<{ text: string }>('metrics', {}, { timeoutMs: 10_000 });
  const unread = /^vmstated_unread_reply_bytes (\d+)$/m.exec(text);
  assert.ok(unread !== null, 'the metrics have vmstated_unread_reply_bytes');
  let logsDone = 0;
  for (const match of text.matchAll(/^vmstated_requests_total\{cmd="logs",code="[A-Za-z_]+"\} (\d+)$/gm)) logsDone += Number(match[1]);
  return { unreadReplyBytes: Number(unread[1]), logsDone };
}

function logMessages(env: VmstatedEnv): string[] {
  return env.daemonLog().split('\n').filter((line) => line !== '').map((line) => String((JSON.parse(line) as { msg?: unknown }).msg));
}

test('the budget: written and reserved bytes count per user; a claim at the budget is refused, root\'s never; everything comes back', () => {
  const budget = new ReplyBudget(2 * 1024 * 1024);
  const connection = budget.account(NOBODY);
  connection.queued(1024 * 1024);
  const reading = budget.claim(NOBODY, 1024 * 1024);
  assert.throws(() => budget.claim(NOBODY), (err: unknown) =>
    err instanceof LimitError && err.message === `2 MiB of replies to uid ${NOBODY} wait unread; read them or close connections first`);
  budget.claim(DAEMON_UID, 1024 * 1024)();
  budget.account(0).queued(8 * 1024 * 1024);
  budget.claim(0, 1024 * 1024);
  reading();
  reading(); // twice: released once
  budget.claim(NOBODY)();
  connection.taken(1024 * 1024);
  assert.equal(budget.bytesOf(NOBODY), 0);
  assert.equal(budget.totalBytes, 9 * 1024 * 1024, 'root\'s bytes are counted, not refused');
});

test('log reads of one user run a few at a time, in order; another user\'s do not wait for them', async () => {
  const gate = new PerUserGate(2);
  const started: string[] = [];
  const finish: Array<() => void> = [];
  const read = (uid: number, name: string): Promise<void> => gate.run(uid, () => new Promise<void>((resolve) => {
    started.push(name);
    finish.push(resolve);
  }));
  const reads = [read(NOBODY, 'a'), read(NOBODY, 'b'), read(NOBODY, 'c'), read(NOBODY, 'd'), read(DAEMON_UID, 'other')];
  await waitFor('the first reads to start', () => (started.length === 3 ? true : undefined));
  assert.deepEqual(started, ['a', 'b', 'other']);
  finish[0]!();
  await waitFor('the next read of the user to start', () => (started.length === 4 ? true : undefined));
  assert.equal(started[3], 'c');
  finish[1]!();
  finish[2]!();
  await waitFor('the last read to start', () => (started.length === 5 ? true : undefined));
  finish[3]!();
  finish[4]!();
  await Promise.all(reads);
});

test('replies nobody leaves unread reach the budget: nobody\'s bulk requests are refused with LIMIT and logged once, another user and root are answered, and the count returns to 0 when the connections close', { timeout: 120_000 }, async (t) => {
  const env = envOpenToNobody(t, 'vmstated-reply-budget-');
  env.writeVm('web', { owner: 'nobody' });
  env.writeVm('db', { owner: 'daemon' });
  writeBigLog(env, 'web', LOG_BYTES);
  writeBigLog(env, 'db', SMALL_LOG_LINES * 200);
  await env.startDaemon();
  const root = await env.client();
  t.after(() => root.close());
  assert.equal((await accounting(root)).unreadReplyBytes, 0);

  const perConnection = [0, 1, 2].map((id) => logsRequest(id, 'web', WHOLE_TAIL));
  const flood = Hostile.unread(NOBODY, env.sockpath, 8, perConnection);
  t.after(() => flood.stop());
  let written = (await flood.next<{ opened: number }>('opened')).opened * perConnection.length;
  // Settled: every request written has been answered or refused. Until the replies waiting reach
  // the budget (the kernel takes some of each connection's), one more connection asks again.
  const held = await waitFor('nobody\'s unread replies to reach the budget', async () => {
    const now = await accounting(root);
    if (now.logsDone < written) return undefined;
    if (now.unreadReplyBytes >= REPLY_BUDGET_BYTES_PER_USER) return now;
    written = (await flood.ask<{ opened: number }>('opened')).opened * perConnection.length;
    return undefined;
  }, 60_000);
  t.diagnostic(`${written / perConnection.length} connections of nobody hold ${held.unreadReplyBytes} bytes of replies unread`);
  assert.ok(held.unreadReplyBytes <= REPLY_BUDGET_BYTES_PER_USER + 2 * TAIL_WINDOW_BYTES, `the budget bounds what is held: ${held.unreadReplyBytes} bytes`);

  const refusal = (id: number, cmd: string): object => ({
    code: 'LIMIT',
    message: `request ${id} (${cmd}): 16 MiB of replies to uid ${NOBODY} wait unread; read them or close connections first`,
  });
  const nobody = Hostile.pipeline(NOBODY, env.sockpath, [
    logsRequest(1, 'web', 5),
    { v: 1, id: 2, cmd: 'status' },
    { v: 1, id: 3, cmd: 'top' },
    { v: 1, id: 4, cmd: 'events' },
    { v: 1, id: 5, cmd: 'metrics' },
    { v: 1, id: 6, cmd: 'failreset', args: { vm: 'web' } },
  ]);
  t.after(() => nobody.stop());
  const replies = new Map((await nobody.replies(6)).map((reply) => [reply.id, reply]));
  assert.deepEqual(replies.get(1)?.error, refusal(1, 'logs'));
  assert.deepEqual(replies.get(2)?.error, refusal(2, 'status'));
  assert.deepEqual(replies.get(3)?.error, refusal(3, 'top'));
  assert.deepEqual(replies.get(4)?.error, refusal(4, 'events'));
  assert.deepEqual(replies.get(5)?.error, refusal(5, 'metrics'));
  assert.equal(replies.get(6)?.error?.code, 'INVALID_STATE', 'a request without bulk output is still carried out');

  // Another user and root are answered meanwhile, their logs in full.
  const other = Hostile.pipeline(DAEMON_UID, env.sockpath, [{ v: 1, id: 1, cmd: 'status' }, logsRequest(2, 'db', WHOLE_TAIL)]);
  t.after(() => other.stop());
  const otherReplies = new Map((await other.replies(2)).map((reply) => [reply.id, reply]));
  assert.deepEqual((otherReplies.get(1)?.result as VmStatus[]).map((status) => status.name), ['db']);
  assert.equal((otherReplies.get(2)?.result as { lines: string[] }).lines.length, SMALL_LOG_LINES);
  const statuses = await root.request<VmStatus[]>('status', {}, { timeoutMs: 10_000 });
  assert.deepEqual(statuses.map((status) => status.name).sort(), ['db', 'web']);
  const { lines } = await root.request<{ lines: string[] }>('logs', { vm: 'web', n: WHOLE_TAIL }, { timeoutMs: 10_000 });
  assert.ok(lines.length > 5000, `root reads the whole tail (${lines.length} lines)`);

  const refusals = logMessages(env).filter((message) => message.includes(`of replies to uid ${NOBODY} wait unread`));
  assert.equal(refusals.length, 1, 'refusals are logged once a minute per user');
  assert.match(refusals[0]!, /^request \d+ \(logs\) refused: 16 MiB of replies to uid 65534 wait unread; read them or close connections first \(further refusals of this user in the next minute are not logged\)$/);

  flood.stop();
  await waitFor('the count to return to 0 once nobody\'s connections are closed', async () => ((await accounting(root)).unreadReplyBytes === 0 ? true : undefined));
  const after = Hostile.pipeline(NOBODY, env.sockpath, [logsRequest(1, 'web', 3)]);
  t.after(() => after.stop());
  const [answered] = await after.replies(1);
  assert.equal((answered?.result as { lines: string[] }).lines.length, 3, 'nobody is served again');
});
