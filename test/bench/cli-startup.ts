/**
 * Benchmark (not a test): wall time of `vmstatedctl status` against a tiny fake vmstated, beside
 * `node -e 0` (Node's own start-up) and a bare node client doing the same request.
 * Run: node dist/test/bench/cli-startup.js [runs]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CTL_BIN, startFakeDaemon, vmStatus } from '../cli/fake-daemon.js';

const runs = Number(process.argv[2] ?? 10);

/** One run's wall time in ms (asynchronous: the fake daemon lives in this process). */
function timeOnce(label: string, args: string[]): Promise<number> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      if (code === 0) resolve(Number(process.hrtime.bigint() - started) / 1e6);
      else reject(new Error(`${label} exited ${code}: ${stderr}`));
    });
  });
}

async function timeRuns(label: string, args: string[]): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) times.push(await timeOnce(label, args));
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`${label.padEnd(34)} median ${median.toFixed(0).padStart(5)} ms   min ${times[0]!.toFixed(0).padStart(5)} ms   (${runs} runs)`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmstatedctl-bench-'));
const fake = await startFakeDaemon(dir, (request, connection) => {
  if (request.cmd === 'status') connection.reply([vmStatus('web', { state: 'running', pid: 1 }), vmStatus('db')]);
  else connection.reply([]);
});
const bareClient = [
  '--input-type=module',
  '-e',
  `const s = (await import('node:net')).connect(${JSON.stringify(fake.socketPath)});
   s.write(JSON.stringify({ v: 1, id: 1, cmd: 'status', args: {} }) + '\\n');
   s.once('data', (d) => { process.stdout.write(d); s.destroy(); });`,
];
try {
  console.log(`load average ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}, ${os.cpus().length} CPUs`);
  await timeRuns('node -e 0', ['-e', '0']);
  await timeRuns('bare node client (status)', bareClient);
  await timeRuns('vmstatedctl status', [CTL_BIN, '-s', fake.socketPath, 'status']);
  await timeRuns('vmstatedctl --json status', [CTL_BIN, '--json', '-s', fake.socketPath, 'status']);
  await timeRuns('vmstatedctl status --help', [CTL_BIN, 'status', '--help']);
} finally {
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
