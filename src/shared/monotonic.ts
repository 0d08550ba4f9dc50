/**
 * Milliseconds on a monotonic clock (not wall time: an NTP step does not move it), as
 * `performance.now()` gives them but without loading perf_hooks, which costs every resident VM
 * worker ~150 KB.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
