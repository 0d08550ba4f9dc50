/**
 * The streams that act for one VM (`console`, `logs` with follow) outlive the check made when they
 * opened, so they are checked again whenever what allowed them may have changed: after every
 * reload (the VM's owner or group changed, its users or groups resolve differently, or it was
 * removed) and when a VM disappears. The rule is authorize()'s, with the peer credentials of the
 * connection that opened the stream; a stream whose peer would no longer be allowed to open it is
 * withdrawn at once, and the daemon log says so, one line per stream. Root keeps every stream.
 */
import { authorize, type VmAccess } from '../auth/authorize.js';
import type { PeerCredentials } from '../auth/peercred.js';
import type { Command, VmEvent } from '../protocol/types.js';
import type { Registry } from './registry.js';

export interface VmStream {
  readonly cmd: Command;
  readonly vm: string;
  readonly peer: PeerCredentials;
  /** Ends the stream and tells its client why; called at most once, never after close(). */
  withdraw(why: string): void;
}

export interface StreamGuard {
  /** Checks the stream against the VM's current config; false once it was withdrawn. */
  check(): boolean;
  /** The stream ended by itself: it is no longer watched. */
  close(): void;
}

const ACCESS_WITHDRAWN = 'access withdrawn by a config reload';
const VM_REMOVED = `${ACCESS_WITHDRAWN}: the VM was removed from the configs`;

/** A VM that is no longer configured has neither owner nor group: only root may use it. */
const UNCONFIGURED: VmAccess = {};

class StreamAccess {
  private readonly streams = new Set<VmStream>();

  constructor(private readonly registry: Registry) {
    registry.bus.on('event', (event: VmEvent) => {
      // `config` closes every reload; `vm-removed` also comes when a VM kept without a config stops.
      if (event.type === 'config' || event.type === 'vm-removed') this.checkAll();
    });
  }

  open(stream: VmStream): StreamGuard {
    this.streams.add(stream);
    return {
      check: () => this.streams.has(stream) && this.checkOne(stream),
      close: () => this.streams.delete(stream),
    };
  }

  private checkAll(): void {
    for (const stream of [...this.streams]) this.checkOne(stream);
  }

  private checkOne(stream: VmStream): boolean {
    const access = this.accessOf(stream.vm);
    if (authorize(stream.peer, stream.cmd, access) === 'allow') return true;
    this.streams.delete(stream);
    const why = access === UNCONFIGURED ? VM_REMOVED : ACCESS_WITHDRAWN;
    const { uid, pid: peerPid } = stream.peer;
    this.registry.log.warn({ vm: stream.vm, uid, peerPid, stream: stream.cmd }, `${stream.vm}: ${stream.cmd} of uid ${uid} ended: ${why}`);
    stream.withdraw(why);
    return false;
  }

  /** What the VM's config allows now; a VM a reload removed counts as gone while it is being stopped. */
  private accessOf(vm: string): VmAccess {
    const entry = this.registry.get(vm);
    if (entry === undefined || (entry.removing && !entry.configRemoved)) return UNCONFIGURED;
    return entry.config;
  }
}

const byRegistry = new WeakMap<Registry, StreamAccess>();

/** Watches `stream` until its guard is closed; it is withdrawn when its peer may no longer open it. */
export function guardStream(registry: Registry, stream: VmStream): StreamGuard {
  let access = byRegistry.get(registry);
  if (access === undefined) byRegistry.set(registry, (access = new StreamAccess(registry)));
  return access.open(stream);
}
