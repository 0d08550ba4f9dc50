/** Driving a test daemon the way an admin does: `vmstatedctl` runs and its `events` stream. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { VmEvent, VmStatus } from '../../src/protocol/types.js';
import { VMSTATEDCTL_BIN } from '../helpers/paths.js';
import { runNode, type RunResult } from '../helpers/run.js';
import { waitFor, type VmstatedEnv } from '../helpers/vmstated-env.js';

/** `vmstatedctl -s <sock> args...`, with how long it took. */
export async function ctl(env: VmstatedEnv, ...args: string[]): Promise<RunResult & { ms: number }> {
  const started = Date.now();
  const result = await runNode(VMSTATEDCTL_BIN, ['-s', env.sockpath, ...args], { env: env.env, timeoutMs: 30_000 });
  return { ...result, ms: Date.now() - started };
}

/** `vmstatedctl --json status vm`, parsed; fails unless it exits 0. */
export async function ctlStatus(env: VmstatedEnv, vm: string): Promise<VmStatus> {
  const result = await ctl(env, '--json', 'status', vm);
  if (result.status !== 0) throw new Error(`vmstatedctl status ${vm} exited ${result.status}: ${result.stderr}`);
  const [status] = JSON.parse(result.stdout) as VmStatus[];
  if (status === undefined) throw new Error(`vmstatedctl status ${vm} printed no VM: ${result.stdout}`);
  return status;
}

/** `vmstatedctl --json logs vm -n 10000`: the VM log's lines. */
export async function ctlLogs(env: VmstatedEnv, vm: string): Promise<string[]> {
  const result = await ctl(env, '--json', 'logs', vm, '-n', '10000');
  if (result.status !== 0) throw new Error(`vmstatedctl logs ${vm} exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

/** Everything `vmstatedctl events` prints, collected as it comes. */
export class EventRecorder {
  readonly events: VmEvent[] = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line !== '') this.events.push(JSON.parse(line) as VmEvent);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
  }

  /** Starts `vmstatedctl events` and returns once it is subscribed (a `reload` shows in it). */
  static async start(env: VmstatedEnv): Promise<EventRecorder> {
    const child = spawn(process.execPath, [VMSTATEDCTL_BIN, '-s', env.sockpath, 'events'], { env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const recorder = new EventRecorder(child);
    try {
      await waitFor('vmstatedctl events to be subscribed', async () => {
        await ctl(env, 'reload');
        return recorder.events.some((event) => event.type === 'config') ? true : undefined;
      }, 20_000);
    } catch (error) {
      recorder.stop();
      throw new Error(`${(error as Error).message}; vmstatedctl events said: ${recorder.stderr}`);
    }
    return recorder;
  }

  /** The states `vm` entered, in order, as the stream told them. */
  states(vm: string): string[] {
    return this.events.flatMap((event) => (event.type === 'state' && event.vm === vm && event.state !== event.previous ? [`${event.state}(${event.reason})`] : []));
  }

  ofType<T extends VmEvent['type']>(vm: string, type: T): Extract<VmEvent, { type: T }>[] {
    return this.events.filter((event): event is Extract<VmEvent, { type: T }> => event.type === type && 'vm' in event && event.vm === vm);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}
