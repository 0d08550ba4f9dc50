/**
 * A stand-in for vmstated in CLI tests: a Unix-socket server speaking the JSON-lines protocol of
 * DESIGN.md section 6. Each test gives it a handler that checks the requests and answers them.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request, VmEvent, VmStatus } from '../../src/protocol/types.js';

export const CTL_BIN = fileURLToPath(new URL('../../../bin/vmstatedctl.cjs', import.meta.url));

export interface FakeConnection {
  reply(result: unknown): void;
  fail(code: string, message: string): void;
  /** A partial result of a streaming request (`logs` with follow). */
  data(value: unknown): void;
  event(event: VmEvent): void;
  end(): void;
}

export type Handler = (request: Request, connection: FakeConnection) => void;

export interface FakeDaemon {
  socketPath: string;
  /** Every request received, in order, from every connection. */
  requests: Request[];
  /** Resolves when a request with this command arrived (now or later). */
  waitForRequest(cmd: string, timeoutMs?: number): Promise<Request>;
  connectionCount(): number;
  close(): Promise<void>;
}

export { tempDir } from '../helpers/temp-dir.js';

export async function startFakeDaemon(dir: string, handler: Handler): Promise<FakeDaemon> {
  const socketPath = path.join(dir, 'vmstated.sock');
  const requests: Request[] = [];
  const waiters: Array<{ cmd: string; resolve(request: Request): void }> = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;

  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const request = JSON.parse(line) as Request;
        requests.push(request);
        const send = (message: object): void => {
          if (!socket.destroyed) socket.write(JSON.stringify({ v: 1, ...message }) + '\n');
        };
        handler(request, {
          reply: (result) => send({ id: request.id, ok: true, result }),
          fail: (code, message) => send({ id: request.id, ok: false, error: { code, message } }),
          data: (value) => send({ id: request.id, data: value }),
          event: (event) => send({ event }),
          end: () => socket.end(),
        });
        for (const waiter of waiters.filter((w) => w.cmd === request.cmd)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(request);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));

  return {
    socketPath,
    requests,
    connectionCount: () => connections,
    waitForRequest(cmd, timeoutMs = 30_000) {
      const seen = requests.find((request) => request.cmd === cmd);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${cmd}" request within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ cmd, resolve: (request) => { clearTimeout(timer); resolve(request); } });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface CtlResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CtlOptions {
  env?: Record<string, string | undefined>;
  /** Kill the client after this long (a hung client fails the test instead of hanging it). */
  timeoutMs?: number;
  /** Called once with the child, e.g. to send it a signal after some output. */
  onSpawn?(child: import('node:child_process').ChildProcess): void;
  /** Written to the client's stdin, which is then closed (at once when not given). */
  stdin?: string;
}

/** Runs the real bin/vmstatedctl.cjs as a child process. VMSTATED_SOCKET is unset unless given. */
export function runCtl(args: readonly string[], options: CtlOptions = {}): Promise<CtlResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, VMSTATED_SOCKET: undefined, ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const child = spawn(process.execPath, [CTL_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(options.stdin ?? '');
  options.onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export function vmStatus(name: string, overrides: Partial<VmStatus> = {}): VmStatus {
  return {
    name,
    state: 'stopped',
    pid: null,
    workerPid: null,
    restarts: 0,
    lastExit: null,
    failureReason: null,
    owner: null,
    group: null,
    description: null,
    os: null,
    osversion: null,
    autostart: false,
    since: '2026-01-01T00:00:00.000Z',
    configFile: `/usr/local/etc/vmstated/${name}/config`,
    configPending: false,
    ...overrides,
  };
}
