/**
 * Benchmark (not a test): UCL parsing speed on a generated ~1 MB config and on
 * 1,000 small VM configs, plus a linearity check (2x the input should take ~2x).
 * Run: node dist/test/bench/ucl-bench.js
 */
import { parseUcl } from '../../src/ucl/index.js';

function vmConfig(n: number): string {
  return [
    `vm${n} {`,
    `  configfile = /vm/vm${n}/bhyve.conf;`,
    `  description = "virtual machine number ${n} \\u00e9";`,
    `  memory = ${(n % 8) + 1}G;`,
    `  cpus = ${(n % 4) + 1};`,
    `  autostart = ${n % 2 === 0 ? 'yes' : 'no'};`,
    `  startorder = ${n % 10};`,
    `  stoptimeout = 30s;`,
    `  maxrestarttime = 2min;`,
    '  # a comment line',
    `  owner = 'user${n}';`,
    `  disks = [ "/vm/vm${n}/disk0.img", "/vm/vm${n}/disk1.img" ]`,
    '  /* a block comment */',
    `  net "tap${n}" { bridge = bridge0; mtu = 1500 }`,
    '}',
    '',
  ].join('\n');
}

function generated(targetBytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let n = 0; size < targetBytes; n++) {
    const part = vmConfig(n);
    parts.push(part);
    size += part.length;
  }
  return parts.join('');
}

function timeMs(run: () => void, repeat: number): number {
  const times: number[] = [];
  for (let k = 0; k < repeat; k++) {
    const started = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const big = generated(1024 * 1024);
parseUcl(big); // warm up
const bigMs = timeMs(() => parseUcl(big), 5);
const megabytes = big.length / (1024 * 1024);
console.log(`1 MB config (${big.length} chars): median ${bigMs.toFixed(1)} ms, ${(megabytes / (bigMs / 1000)).toFixed(1)} MB/s`);

const double = generated(2 * 1024 * 1024);
const doubleMs = timeMs(() => parseUcl(double), 3);
console.log(`2 MB config: median ${doubleMs.toFixed(1)} ms (ratio to 1 MB: ${(doubleMs / bigMs).toFixed(2)}, ~2 means linear)`);

const small = Array.from({ length: 1000 }, (_, n) => vmConfig(n));
const smallMs = timeMs(() => {
  for (const text of small) parseUcl(text, { filename: 'config' });
}, 5);
console.log(`1,000 small VM configs: median ${smallMs.toFixed(1)} ms total, ${(smallMs / 1000 * 1000).toFixed(1)} µs each`);
