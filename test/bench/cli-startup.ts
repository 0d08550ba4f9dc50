/**
 * Benchmark (not a test): wall time of `vmstatedctl status` against a tiny fake vmstated, beside
 * `node -e 0` (Node's own start-up; issue 14's target is within 1.5x of it), a bare node client
 * doing the same request, and `vmstatedctl --version` (oclif alone: what any oclif command costs
 * before it does anything). Each run also reports the child's own CPU time (user+system), which a
 * busy machine distorts less than wall time. Every child gets a login shell's environment (measure.ts).
 * Run: node dist/test/bench/cli-startup.js [runs]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manifestIsStale } from '../../src/cli/main.js';
import { CTL_BIN, startFakeDaemon, vmStatus } from '../cli/fake-daemon.js';
import { loginEnvironment } from './measure.js';

const runs = Number(process.argv[2] ?? 10);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstatedctl-bench-'));

// Preloaded into every child: writes its CPU time (µs) to fd 3 when it exits.
const cpuReporter = path.join(dir, 'cpu-reporter.cjs');
fs.writeFileSync(
  cpuReporter,
  "process.on('exit', () => { const u = process.cpuUsage(); require('fs').writeSync(3, String(u.user + u.system)); });\n",
);

interface Run {
  wallMs: number;
  cpuMs: number;
}

function runOnce(label: string, args: string[]): Promise<Run> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--require', cpuReporter, ...args], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: loginEnvironment() });
  let stderr = '';
  let cpu = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => (cpu += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve({ wallMs, cpuMs: Number(cpu) / 1000 });
      else reject(new Error(`${label} exited ${code}: ${stderr}`));
    });
  });
}

const median = (values: number[]): number => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Runs every case once per round, round after round, so a load swing on this shared machine hits
 * all cases alike; prints each case's medians and its wall-time ratio to `node -e 0`.
 */
async function measureInterleaved(cases: ReadonlyArray<[label: string, args: string[]]>): Promise<void> {
  const results = new Map<string, Run[]>(cases.map(([label]) => [label, []]));
  for (let i = 0; i < runs; i += 1) {
    for (const [label, args] of cases) results.get(label)!.push(await runOnce(label, args));
  }
  const baseline = median(results.get(cases[0]![0])!.map((run) => run.wallMs));
  for (const [label] of cases) {
    const wall = results.get(label)!.map((run) => run.wallMs);
    const cpu = results.get(label)!.map((run) => run.cpuMs);
    console.log(
      `${label.padEnd(30)} wall median ${median(wall).toFixed(0).padStart(5)} ms, min ${Math.min(...wall).toFixed(0).padStart(5)} ms;` +
        `  cpu median ${median(cpu).toFixed(0).padStart(5)} ms;  ${(median(wall) / baseline).toFixed(2)}x node  (${runs} runs)`,
    );
  }
}

const fake = await startFakeDaemon(dir, (request, connection) => {
  if (request.cmd === 'status') connection.reply([vmStatus('web', { state: 'running', pid: 1 }), vmStatus('db')]);
  else connection.reply([]);
});
// CommonJS, as vmstatedctl's bundle is: the floor for any Node client of the socket.
const bareClient = [
  '-e',
  `const s = require('node:net').connect(${JSON.stringify(fake.socketPath)});
   s.write(JSON.stringify({ v: 1, id: 1, cmd: 'status', args: {} }) + '\\n');
   s.once('data', (d) => { process.stdout.write(d); s.destroy(); });`,
];
try {
  const root = path.join(path.dirname(CTL_BIN), '..');
  const manifest = !fs.existsSync(path.join(root, 'oclif.manifest.json')) ? 'none' : manifestIsStale(root) ? 'STALE (ignored: run node dist/src/cli/manifest.js)' : 'fresh';
  console.log(`load average ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}, ${os.cpus().length} CPUs, oclif manifest: ${manifest}`);
  await measureInterleaved([
    ['node -e 0', ['-e', '0']],
    ['bare node client (status)', bareClient],
    // oclif's own floor: the bundle, oclif's Config and its run, and no request at all.
    ['vmstatedctl --version', [CTL_BIN, '--version']],
    ['vmstatedctl status', [CTL_BIN, '-s', fake.socketPath, 'status']],
    ['vmstatedctl --json status', [CTL_BIN, '--json', '-s', fake.socketPath, 'status']],
    ['vmstatedctl status --help', [CTL_BIN, 'status', '--help']],
  ]);
} finally {
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
