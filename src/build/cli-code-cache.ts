/**
 * V8's code cache of the vmstatedctl bundle (src/cli/bundle-loader.cts reads it): the build runs
 * the bundle once, `status` against a stand-in vmstated on a scratch socket that answers like the
 * real one, and saves the code of everything that run compiled: configuration, command lookup,
 * flag parsing, the request, and the reply's rendering. A function the run did not reach is
 * compiled when it is first called.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { VmStatus } from '../protocol/types.js';

/** What the stand-in answers to `status`: a running VM and a stopped one (both table paths). */
const SAMPLE_STATUS: VmStatus[] = [
  sampleVm('web', { state: 'running', pid: 1234, workerPid: 1233, restarts: 1 }),
  sampleVm('db', {}),
];

function sampleVm(name: string, overrides: Partial<VmStatus>): VmStatus {
  return {
    name, state: 'stopped', pid: null, workerPid: null, restarts: 0, lastExit: null, failureReason: null,
    owner: null, group: null, description: null, os: null, osversion: null, autostart: true,
    since: new Date().toISOString(), configFile: `/usr/local/etc/vmstated/${name}/config`, configPending: false,
    ...overrides,
  };
}

/** Answers each request line: the sample status, an empty list to anything else. */
function standInDaemon(socketPath: string): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        const request = JSON.parse(buffered.slice(0, newline)) as { id: unknown; cmd: string };
        buffered = buffered.slice(newline + 1);
        socket.write(JSON.stringify({ v: 1, id: request.id, ok: true, result: request.cmd === 'status' ? SAMPLE_STATUS : [] }) + '\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve(server)));
}

/** Runs the bundle through `loader` (bundle-loader.cjs) and writes the cache; returns its path. */
export async function writeCliCodeCache(loader: string, replaceFileModule: string): Promise<string> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstatedctl-build-'));
  const socketPath = path.join(scratch, 'vmstated.sock');
  const server = await standInDaemon(socketPath);
  try {
    const warmUp = [
      'const [loader, replaceFile, socket] = process.argv.slice(1);',
      'import(replaceFile).then(({ replaceFileSync }) => {',
      '  const { loadCli, CLI_CODE_CACHE } = require(loader);',
      '  const cli = loadCli();',
      '  process.on("exit", () => replaceFileSync(CLI_CODE_CACHE, cli.script.createCachedData()));',
      '  cli.main(["-s", socket, "status"]);',
      '});',
    ].join('\n');
    const child = spawn(process.execPath, ['-e', warmUp, loader, replaceFileModule, socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0 || !/^web\s+running\b/m.test(stdout)) throw new Error(`the vmstatedctl bundle did not run as expected (exit ${code}):\n${stdout}${stderr}`);
    return (createRequire(import.meta.url)(loader) as typeof import('../cli/bundle-loader.cjs')).CLI_CODE_CACHE;
  } finally {
    server.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
