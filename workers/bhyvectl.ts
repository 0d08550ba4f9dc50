/**
 * Running bhyvectl: destroying the kernel VM instance and forcing a power-off. Each call runs in a
 * process group of its own and is bounded: past BHYVECTL_TIMEOUT_MS the whole group is killed (a
 * wrapper script's children too) and the call counts as failed.
 */
import { spawn } from 'node:child_process';
import { killProcessGroup } from './process-group.js';
import type { VmLog } from './vm-log.js';

export const BHYVECTL_TIMEOUT_MS = 10_000;
/** What bhyvectl says when there is no such VM instance: for --destroy that is success. */
const NOT_CREATED = /not created|could not be opened|no such file or directory|does not exist/i;
/** bhyvectl's output kept for the log and the outcome. */
const MAX_OUTPUT_CHARS = 4096;

export interface BhyvectlResult {
  ok: boolean;
  exitCode: number | null;
  output: string;
  /** How it ended, to follow "bhyvectl --destroy": "exited 1", "did not finish within 10 s", ... */
  outcome: string;
  /** It was killed because the caller no longer needed it (see runBhyvectl's `abandon`). */
  abandoned: boolean;
}

/** "bhyvectl --force-poweroff": the call as the log and the replies name it (the VM is known). */
export function describeCall(args: readonly string[]): string {
  return ['bhyvectl', ...args.filter((arg) => !arg.startsWith('--vm='))].join(' ');
}

/**
 * Runs bhyvectl and resolves when it exits, when it has run BHYVECTL_TIMEOUT_MS (its process group
 * is killed), or when `abandon` aborts (its process group is killed too). Never rejects.
 */
export function runBhyvectl(bhyvectl: string, args: string[], log: VmLog, abandon?: AbortSignal): Promise<BhyvectlResult> {
  const call = describeCall(args);
  return new Promise((resolve) => {
    log.line('vmstated', `running ${bhyvectl} ${args.join(' ')}`);
    let output = '';
    const child = spawn(bhyvectl, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const collect = (chunk: Buffer): void => {
      if (output.length < MAX_OUTPUT_CHARS) output += chunk.toString('utf8');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let done = false;
    const finish = (result: Omit<BhyvectlResult, 'output' | 'abandoned'> & { abandoned?: boolean }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      abandon?.removeEventListener('abort', onAbandon);
      child.stdout?.destroy();
      child.stderr?.destroy();
      for (const line of output.split('\n').filter((text) => text !== '')) log.line('bhyvectl', line);
      resolve({ output, abandoned: false, ...result });
    };
    const killAll = (outcome: string, abandoned: boolean): void => {
      if (done) return;
      log.line('vmstated', `${call} ${outcome}; killed`);
      killProcessGroup(child, 'SIGKILL');
      finish({ ok: false, exitCode: null, outcome, abandoned });
    };
    const timer = setTimeout(() => killAll(`did not finish within ${BHYVECTL_TIMEOUT_MS / 1000} s`, false), BHYVECTL_TIMEOUT_MS);
    const onAbandon = (): void => killAll(`no longer needed (${String(abandon?.reason ?? 'abandoned')})`, true);
    if (abandon?.aborted) onAbandon();
    else abandon?.addEventListener('abort', onAbandon, { once: true });
    child.once('error', (error) => finish({ ok: false, exitCode: null, outcome: `could not be run: ${error.message}` }));
    child.once('exit', (code, signal) =>
      // let the pipes deliver the last words (bhyvectl holds nothing open after it exits)
      setImmediate(() => finish({ ok: code === 0, exitCode: code, outcome: signal !== null ? `was killed by ${signal}` : `exited ${code}` })),
    );
  });
}

/** How a failed call ended, with bhyvectl's last line: "exited 1: vm_destroy: Device busy". */
export function failureDetail(result: BhyvectlResult): string {
  const lastLine = result.output.split('\n').map((line) => line.trim()).filter((line) => line !== '').at(-1);
  return result.exitCode !== null && lastLine !== undefined ? `${result.outcome}: ${lastLine.slice(0, 200)}` : result.outcome;
}

/**
 * `bhyvectl --vm=NAME --destroy`; "not created" counts as success. Resolves to null once the
 * instance is gone, else to how bhyvectl failed (failureDetail); a failure is logged, never thrown.
 */
export async function destroyVmInstance(bhyvectl: string, name: string, log: VmLog): Promise<string | null> {
  const args = [`--vm=${name}`, '--destroy'];
  const result = await runBhyvectl(bhyvectl, args, log);
  if (result.ok || (result.exitCode !== null && NOT_CREATED.test(result.output))) {
    log.line('vmstated', `vmm instance ${name} destroyed (or was not there)`);
    return null;
  }
  const failure = failureDetail(result);
  log.line('vmstated', `could not destroy vmm instance ${name}: ${describeCall(args)} ${failure}; its memory stays reserved until it is destroyed`);
  return failure;
}

/** `bhyvectl --vm=NAME --force-poweroff`; `abandon` kills it (bhyve exited meanwhile). */
export function forcePoweroff(bhyvectl: string, name: string, log: VmLog, abandon?: AbortSignal): Promise<BhyvectlResult> {
  return runBhyvectl(bhyvectl, [`--vm=${name}`, '--force-poweroff'], log, abandon);
}
