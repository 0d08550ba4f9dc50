/** Running bhyvectl: destroying the kernel VM instance and forcing a power-off. */
import { spawn } from 'node:child_process';
import type { VmLog } from './vm-log.js';

const BHYVECTL_TIMEOUT_MS = 10_000;
/** What bhyvectl says when there is no such VM instance: for --destroy that is success. */
const NOT_CREATED = /not created|could not be opened|no such file or directory|does not exist/i;

export interface BhyvectlResult {
  ok: boolean;
  exitCode: number | null;
  output: string;
}

export function runBhyvectl(bhyvectl: string, args: string[], log: VmLog): Promise<BhyvectlResult> {
  return new Promise((resolve) => {
    log.line('vmstated', `running ${bhyvectl} ${args.join(' ')}`);
    let output = '';
    const child = spawn(bhyvectl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer): void => {
      if (output.length < 4096) output += chunk.toString('utf8');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), BHYVECTL_TIMEOUT_MS);
    let done = false;
    const finish = (result: BhyvectlResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stdout?.destroy();
      child.stderr?.destroy();
      for (const line of result.output.split('\n').filter((text) => text !== '')) log.line('bhyvectl', line);
      resolve(result);
    };
    child.once('error', (error) => finish({ ok: false, exitCode: null, output: `${output}${error.message}` }));
    child.once('exit', (code, signal) =>
      // let the pipes deliver the last words (bhyvectl holds nothing open after it exits)
      setImmediate(() => finish({ ok: code === 0, exitCode: code, output: signal ? `${output}killed by ${signal}` : output })),
    );
  });
}

/** `bhyvectl --vm=NAME --destroy`; "not created" counts as success. Failures are logged, not fatal. */
export async function destroyVmInstance(bhyvectl: string, name: string, log: VmLog): Promise<boolean> {
  const result = await runBhyvectl(bhyvectl, [`--vm=${name}`, '--destroy'], log);
  if (result.ok || NOT_CREATED.test(result.output)) {
    log.line('vmstated', `vmm instance ${name} destroyed (or was not there)`);
    return true;
  }
  log.line('vmstated', `could not destroy vmm instance ${name} (bhyvectl exit ${result.exitCode}); its memory stays reserved until it is destroyed`);
  return false;
}

export async function forcePoweroff(bhyvectl: string, name: string, log: VmLog): Promise<boolean> {
  return (await runBhyvectl(bhyvectl, [`--vm=${name}`, '--force-poweroff'], log)).ok;
}
