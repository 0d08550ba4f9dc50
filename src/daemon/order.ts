/** Start and shutdown order: tiers of equal `startorder`, run in parallel within a tier. */
import type { VmConfig } from '../config/types.js';

/** Groups configs by startorder, lowest first (start order); reverse it for shutdown. */
export function startTiers<T extends { config: VmConfig }>(items: readonly T[]): T[][] {
  const byOrder = new Map<number, T[]>();
  for (const item of items) {
    const tier = byOrder.get(item.config.startorder);
    if (tier === undefined) byOrder.set(item.config.startorder, [item]);
    else tier.push(item);
  }
  return [...byOrder.entries()].sort(([a], [b]) => a - b).map(([, tier]) => tier);
}

/** The pause after a tier: the longest startdelay of its VMs, in milliseconds. */
export function tierDelayMs(tier: readonly { config: VmConfig }[]): number {
  return Math.max(0, ...tier.map((item) => item.config.startdelay)) * 1000;
}
