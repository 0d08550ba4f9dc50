/** What the metrics tests share: Prometheus's programs (Debian's `prometheus` package) and free ports. */
import type { TestContext } from 'node:test';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../helpers/paths.js';

export const RULES_FILE = path.join(PROJECT_ROOT, 'etc/prometheus/vmstated.rules.yml');
export const RULES_TESTS = path.join(PROJECT_ROOT, 'test/metrics/vmstated.rules.test.yml');
export const DASHBOARD_FILE = path.join(PROJECT_ROOT, 'etc/prometheus/vmstated.grafana.json');

/** The program's path in PATH, or null. */
export function findProgram(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir || '.', name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * The program, or null with the test skipped where it is not installed; in CI (CI set, as
 * .ci/run's environment has it) a missing program fails the test: .ci/run installs it.
 */
export function prometheusProgram(t: TestContext, name: 'prometheus' | 'promtool'): string | null {
  const found = findProgram(name);
  if (found !== null) return found;
  const why = `${name} is not installed (Debian: apt-get install prometheus)`;
  if (process.env.CI) throw new Error(`${why}; in CI .ci/run installs it, so this is a failure`);
  t.skip(`${why}: skipped`);
  return null;
}

export interface ProgramRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end, feeding `input` on stdin. */
export function runProgram(file: string, args: string[], options: { input?: string; cwd?: string } = {}): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { cwd: options.cwd, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ status: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
    child.stdin?.end(options.input ?? '');
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The `# TYPE` families of an exposition text, sorted. */
export function families(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('# TYPE ')).map((line) => line.split(' ')[2]!).sort();
}
