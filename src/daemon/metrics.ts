/**
 * vmstated's Prometheus metrics (vmstated(8), METRICS): the names, labels and meanings are a
 * contract. What a VM is now (state, restart window, configured size, its bhyve's CPU and memory)
 * is read from the registry at each scrape; what happened (restarts, failures, exits, hook runs,
 * requests) is counted from the registry's event bus since the daemon started.
 *
 * Two prom-client registries: the per-VM families, which a user who is not root sees filtered to
 * the VMs they may see, and the daemon's own (config problems, requests, process), root's only.
 */
import type { EventEmitter } from 'node:events';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConfigProblem, VmConfig } from '../config/types.js';
import { VM_STATES } from '../protocol/types.js';
import type { VmEvent, VmStatus } from '../protocol/types.js';
import { EXIT_MEANINGS, INVALID_REQUEST_CMD, RESTART_REASONS, configuredCpus, exitMeaning, isRestartReason } from './metrics-labels.js';
import { CachedUsage } from './metrics-usage.js';

/** What the metrics read: the registry (src/daemon/registry.ts) satisfies it. */
export interface MetricsSource {
  readonly entries: ReadonlyMap<string, { readonly config: VmConfig; readonly status: VmStatus }>;
  readonly problems: readonly ConfigProblem[];
  readonly bus: EventEmitter;
}

/** Hook run times, from a quick script to past the default hooktimeout (120 s): few buckets, as there is a histogram per VM and hook. */
export const HOOK_DURATION_BUCKETS = [0.1, 0.5, 2, 10, 60, 300];

const MIB = 1024 * 1024;

/**
 * `registry.metrics()`, one family at a time with a turn of the event loop in between: with 200
 * VMs the text is thousands of lines, and requests on the control socket get their turn between
 * families instead of waiting for all of it. Each family is prom-client's own text (or, for one
 * in `cache`, the text it had when nothing has changed it since: see CACHED); they are joined as
 * `metrics()` joins them.
 */
async function render(registry: Registry, cache?: Map<string, string>): Promise<string> {
  const families: string[] = [];
  for (const { name } of registry.getMetricsAsArray()) {
    const kept = cache?.get(name);
    if (kept !== undefined) {
      families.push(kept);
      continue;
    }
    await new Promise((resolve) => setImmediate(resolve));
    const text = await registry.getSingleMetricAsString(name);
    if (cache?.has(name) === false && CACHED.has(name)) cache.set(name, text);
    families.push(text);
  }
  return `${families.join('\n\n')}\n`;
}

/**
 * The families whose text is kept from one scrape to the next: those only events change (until
 * the next event), and those made from the VMs' records (until a record changes: see
 * recordsFingerprint). At rest, a scrape of 200 VMs then formats little more than the bhyve CPU
 * and memory readings.
 */
const CACHED: ReadonlySet<string> = new Set([
  'vmstated_vm_restarts_total',
  'vmstated_vm_failures_total',
  'vmstated_vm_exits_total',
  'vmstated_hook_duration_seconds',
  'vmstated_hook_failures_total',
  ...recordFed(),
]);

function recordFed(): string[] {
  return [
    'vmstated_vm_info',
    'vmstated_vm_state',
    'vmstated_vm_state_since_timestamp_seconds',
    'vmstated_vm_autostart',
    'vmstated_vm_restart_window_restarts',
    'vmstated_vm_restart_window_max',
    'vmstated_vm_configured_memory_bytes',
    'vmstated_vm_configured_cpus',
  ];
}

/** Everything of the VMs' records that the record-fed families show, as one string. */
function recordsFingerprint(entries: Iterable<{ readonly config: VmConfig; readonly status: VmStatus }>): string {
  const parts: string[] = [];
  for (const { config, status } of entries) {
    const { name, state, since, restarts, owner, group, os, osversion } = status;
    parts.push(JSON.stringify([name, state, since, restarts, owner, group, os, osversion, config.autostart, config.maxrestart, config.memoryMiB, configuredCpus(config)]));
  }
  return parts.join('\n');
}

export class DaemonMetrics {
  readonly contentType: string;
  private readonly vmRegistry = new Registry();
  private readonly daemonRegistry = new Registry();
  /** VMs whose counters exist (at 0 from their first scrape on), so that increase() sees the first event. */
  private readonly counted = new Set<string>();
  /** The text of the CACHED families as of the last scrape; emptied by every event and record change. */
  private readonly rendered = new Map<string, string>();
  private lastRecords = '';
  private lastReloadSuccess = 0;
  /** Bytes of replies the kernel has not taken plus log reads under way, all users (the control server sets it). */
  unreadReplyBytes: () => number = () => 0;

  private readonly restarts: Counter<'vm' | 'reason'>;
  private readonly failures: Counter<'vm'>;
  private readonly exits: Counter<'vm' | 'meaning'>;
  private readonly hookDuration: Histogram<'vm' | 'hook'>;
  private readonly hookFailures: Counter<'vm' | 'hook'>;
  private readonly requests: Counter<'cmd' | 'code'>;

  constructor(
    private readonly source: MetricsSource,
    private readonly usage = new CachedUsage(),
  ) {
    this.contentType = this.vmRegistry.contentType;
    const vmRegisters = [this.vmRegistry];
    this.defineVmGauges();
    this.restarts = new Counter({
      name: 'vmstated_vm_restarts_total',
      help: 'Restarts of the VM since vmstated started, by reason: reboot and crash (automatic), restart (asked for).',
      labelNames: ['vm', 'reason'],
      registers: vmRegisters,
    });
    this.failures = new Counter({ name: 'vmstated_vm_failures_total', help: 'Times the VM went into failure mode since vmstated started.', labelNames: ['vm'], registers: vmRegisters });
    this.exits = new Counter({
      name: 'vmstated_vm_exits_total',
      help: `Exits of the VM's bhyve since vmstated started, by meaning (${EXIT_MEANINGS.join(', ')}).`,
      labelNames: ['vm', 'meaning'],
      registers: vmRegisters,
    });
    this.hookDuration = new Histogram({
      name: 'vmstated_hook_duration_seconds',
      help: 'How long hook scripts ran, by VM and hook (the state it is named after).',
      labelNames: ['vm', 'hook'],
      buckets: HOOK_DURATION_BUCKETS,
      registers: vmRegisters,
    });
    this.hookFailures = new Counter({
      name: 'vmstated_hook_failures_total',
      help: 'Hook scripts that failed (exit status not 0, killed, timed out) since vmstated started.',
      labelNames: ['vm', 'hook'],
      registers: vmRegisters,
    });
    this.requests = new Counter({
      name: 'vmstated_requests_total',
      help: 'Requests on the control socket since vmstated started, by command and reply code (ok or the error code).',
      labelNames: ['cmd', 'code'],
      registers: [this.daemonRegistry],
    });
    this.defineDaemonGauges();
    // Prefixed: node_exporter's textfile collector refuses a file whose process_* clash with its own.
    // The event loop delay is sampled every 50 ms, not prom-client's 10: an idle daemon wakes
    // 20 times a second for it, not 100.
    collectDefaultMetrics({ register: this.daemonRegistry, prefix: 'vmstated_', eventLoopMonitoringPrecision: 50 });
    // Gauges that prom-client names like counters (`promtool check metrics` rejects them); the
    // same counts are there without the suffix, by type (nodejs_active_handles and the others).
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
      this.daemonRegistry.removeSingleMetric(`vmstated_nodejs_${name}`);
    }
    source.bus.on('event', (event: VmEvent) => this.onEvent(event));
  }

  /** A config load (at start or a reload) has finished: without errors, it counts as a success. */
  configLoaded(time = Date.now()): void {
    if (!this.source.problems.some((problem) => problem.severity === 'error')) this.lastReloadSuccess = time / 1000;
  }

  /** One request answered (or refused) on the control socket; `cmd` null for an invalid request. */
  countRequest(cmd: string | null, code: string): void {
    this.requests.inc({ cmd: cmd ?? INVALID_REQUEST_CMD, code });
  }

  /**
   * The exposition text: everything, or (`visible` given) only the per-VM series of the VMs it
   * accepts, without the daemon's own families.
   */
  async exposition(visible?: (vm: string) => boolean): Promise<string> {
    this.initializeCounters();
    const records = recordsFingerprint(this.source.entries.values());
    if (records !== this.lastRecords) {
      for (const name of recordFed()) this.rendered.delete(name);
      this.lastRecords = records;
    }
    if (visible === undefined) return (await render(this.daemonRegistry)) + (await render(this.vmRegistry, this.rendered));
    const families = await this.vmRegistry.getMetricsAsJSON();
    const filtered = families.map((family) => ({ ...family, values: family.values.filter((value) => visible(String(value.labels.vm))) }));
    // One registry's worth "aggregated" is that registry: prom-client rebuilds and formats it.
    return AggregatorRegistry.aggregate([filtered]).metrics();
  }

  private onEvent(event: VmEvent): void {
    this.rendered.clear();
    switch (event.type) {
      case 'state':
        if (event.state === event.previous) return;
        if (event.state === 'restarted' && isRestartReason(event.reason)) this.restarts.inc({ vm: event.vm, reason: event.reason });
        if (event.state === 'failed') this.failures.inc({ vm: event.vm });
        return;
      case 'exit':
        this.exits.inc({ vm: event.vm, meaning: exitMeaning(event.exit) });
        return;
      case 'hook':
        this.hookDuration.observe({ vm: event.vm, hook: event.hook }, event.durationMs / 1000);
        this.hookFailures.inc({ vm: event.vm, hook: event.hook }, event.ok ? 0 : 1);
        return;
      case 'config':
        this.configLoaded(Date.parse(event.time));
        return;
      case 'vm-removed':
        this.forget(event.vm);
        return;
      default:
        return;
    }
  }

  /** Every counter of every VM, at 0 until its first event: a series that appears at 1 has no increase(). */
  private initializeCounters(): void {
    for (const vm of this.source.entries.keys()) {
      if (this.counted.has(vm)) continue;
      this.counted.add(vm);
      this.rendered.clear();
      for (const reason of RESTART_REASONS) this.restarts.inc({ vm, reason }, 0);
      for (const meaning of EXIT_MEANINGS) this.exits.inc({ vm, meaning }, 0);
      this.failures.inc({ vm }, 0);
    }
  }

  /** A VM dropped from the registry takes its series with it. */
  private forget(vm: string): void {
    this.counted.delete(vm);
    for (const reason of RESTART_REASONS) this.restarts.remove({ vm, reason });
    for (const meaning of EXIT_MEANINGS) this.exits.remove({ vm, meaning });
    this.failures.remove({ vm });
    for (const hook of VM_STATES) {
      this.hookDuration.remove({ vm, hook });
      this.hookFailures.remove({ vm, hook });
    }
  }

  private entries(): Array<{ readonly config: VmConfig; readonly status: VmStatus }> {
    return [...this.source.entries.values()];
  }

  /** The gauges read from the registry's records at each scrape. */
  private defineVmGauges(): void {
    const registers = [this.vmRegistry];
    const entries = (): Array<{ readonly config: VmConfig; readonly status: VmStatus }> => this.entries();
    new Gauge({
      name: 'vmstated_vm_info',
      help: 'Always 1, for each configured VM; its labels say who owns it and what it runs.',
      labelNames: ['vm', 'owner', 'group', 'os', 'osversion'],
      registers,
      collect() {
        this.reset();
        for (const { status } of entries()) {
          this.set({ vm: status.name, owner: status.owner ?? '', group: status.group ?? '', os: status.os ?? '', osversion: status.osversion ?? '' }, 1);
        }
      },
    });
    new Gauge({
      name: 'vmstated_vm_state',
      help: `1 for the state the VM is in, 0 for every other state (${VM_STATES.join(', ')}).`,
      labelNames: ['vm', 'state'],
      registers,
      collect() {
        this.reset();
        for (const { status } of entries()) {
          for (const state of VM_STATES) this.set({ vm: status.name, state }, state === status.state ? 1 : 0);
        }
      },
    });
    this.perVmGauge('vmstated_vm_state_since_timestamp_seconds', 'When the VM entered its current state (Unix time).', ({ status }) => Date.parse(status.since) / 1000);
    this.perVmGauge('vmstated_vm_autostart', '1 for a VM that vmstated starts by itself (autostart = true), else 0.', ({ config }) => (config.autostart ? 1 : 0));
    this.perVmGauge('vmstated_vm_restart_window_restarts', 'Automatic restarts inside the current restart window (failure mode comes after vmstated_vm_restart_window_max).', ({ status }) => status.restarts);
    this.perVmGauge('vmstated_vm_restart_window_max', 'Automatic restarts the restart window allows (maxrestart).', ({ config }) => config.maxrestart);
    this.perVmGauge('vmstated_vm_configured_memory_bytes', 'Guest memory the VM config sets (memory); absent when only the bhyve config sets it.', ({ config }) =>
      config.memoryMiB === undefined ? undefined : config.memoryMiB * MIB,
    );
    this.perVmGauge('vmstated_vm_configured_cpus', 'vCPUs the VM config sets (cpus, or sockets x cores x threads); absent when only the bhyve config sets them.', ({ config }) => configuredCpus(config));

    const usage = this.usage;
    const bhyveUsage = async (): Promise<Array<{ vm: string; cpuSeconds: number; rssBytes: number }>> => {
      const running = entries().filter(({ status }) => status.pid !== null);
      const samples = await usage.read(running.map(({ status }) => status.pid!));
      return running.flatMap(({ status }) => {
        const sample = samples.get(status.pid!);
        return sample === undefined ? [] : [{ vm: status.name, cpuSeconds: sample.cpuSeconds, rssBytes: sample.rssBytes }];
      });
    };
    new Counter({
      name: 'vmstated_vm_cpu_seconds_total',
      help: "CPU time (user and system) of the VM's bhyve process; it starts again at 0 when bhyve is launched again.",
      labelNames: ['vm'],
      registers,
      async collect() {
        const readings = await bhyveUsage();
        this.reset();
        for (const { vm, cpuSeconds } of readings) this.inc({ vm }, cpuSeconds);
      },
    });
    new Gauge({
      name: 'vmstated_vm_resident_memory_bytes',
      help: "Resident memory of the VM's bhyve process.",
      labelNames: ['vm'],
      registers,
      async collect() {
        const readings = await bhyveUsage();
        this.reset();
        for (const { vm, rssBytes } of readings) this.set({ vm }, rssBytes);
      },
    });
  }

  /** A gauge with one value per VM (none for a VM where `value` is undefined). */
  private perVmGauge(name: string, help: string, value: (entry: { readonly config: VmConfig; readonly status: VmStatus }) => number | undefined): void {
    const entries = (): Array<{ readonly config: VmConfig; readonly status: VmStatus }> => this.entries();
    new Gauge({
      name,
      help,
      labelNames: ['vm'],
      registers: [this.vmRegistry],
      collect() {
        this.reset();
        for (const entry of entries()) {
          const current = value(entry);
          if (current !== undefined) this.set({ vm: entry.status.name }, current);
        }
      },
    });
  }

  private defineDaemonGauges(): void {
    const registers = [this.daemonRegistry];
    const problems = (): readonly ConfigProblem[] => this.source.problems;
    new Gauge({
      name: 'vmstated_config_problems',
      help: 'Problems found in the VM configs at the last load (start or reload), by severity (error, warning).',
      labelNames: ['severity'],
      registers,
      collect() {
        const all = problems();
        for (const severity of ['error', 'warning'] as const) this.set({ severity }, all.filter((problem) => problem.severity === severity).length);
      },
    });
    const lastSuccess = (): number => this.lastReloadSuccess;
    new Gauge({
      name: 'vmstated_config_last_reload_success_timestamp_seconds',
      help: 'When the VM configs were last loaded without errors, at start or by a reload (Unix time; 0: not since vmstated started).',
      registers,
      collect() {
        this.set(lastSuccess());
      },
    });
    const unreadReplyBytes = (): number => this.unreadReplyBytes();
    new Gauge({
      name: 'vmstated_unread_reply_bytes',
      help: 'Bytes of replies on the control socket not yet taken by the kernel, plus logs reads under way, of all users together (each user but root has a budget of them).',
      registers,
      collect() {
        this.set(unreadReplyBytes());
      },
    });
  }
}
