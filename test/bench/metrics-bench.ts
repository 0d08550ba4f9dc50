/**
 * The metrics phase of the bench (run.ts): how long a scrape of the daemon's metrics listener
 * takes with every VM running (target: p99 under 50 ms with 200 VMs), and `status` latency while
 * a scraper polls every second, as Prometheus would (a fast one: 15 s is its default).
 */
import { percentile, processCpuMs } from './measure.js';

/** A free port for the bench daemon's metrics listener. */
export { freePort as metricsPort } from '../metrics/tools.js';

type Record = (key: string, label: string, value: number | null, unit: string, target?: string) => void;

/** One scrape: the whole body read; returns its time in ms and size in bytes. */
async function scrape(url: string): Promise<{ ms: number; bytes: number; series: number }> {
  const started = performance.now();
  const response = await fetch(url);
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`scrape ${url}: HTTP ${response.status}`);
  return { ms, bytes: Buffer.byteLength(text), series: text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length };
}

/**
 * Scrapes `scrapes` times, one every `everyMs` (spanning several refreshes of the bhyve CPU and
 * memory readings, which are kept 5 s); then asks `status` at the bench's pace for `seconds` while
 * scraping once a second.
 */
export async function benchMetrics(
  url: string,
  statusWhile: (more: () => boolean) => Promise<number[]>,
  record: Record,
  options: { vms: number; daemonPid: number; scrapes?: number; everyMs?: number; seconds?: number },
): Promise<void> {
  const { vms, daemonPid, scrapes = 150, everyMs = 100, seconds = 10 } = options;
  await scrape(url); // the first one reads the bhyve processes for the first time
  const cpuBefore = processCpuMs(daemonPid);
  const times: number[] = [];
  let last = { bytes: 0, series: 0 };
  for (let i = 0; i < scrapes; i++) {
    const one = await scrape(url);
    times.push(one.ms);
    last = one;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  record('scrapeP50Ms', `metrics scrape p50, ${vms} running (${last.series} series, ${Math.round(last.bytes / 1024)} KiB)`, percentile(times, 50), 'ms');
  record('scrapeP99Ms', `metrics scrape p99 (${scrapes}, one every ${everyMs} ms)`, percentile(times, 99), 'ms', '< 50');
  const cpuAfter = processCpuMs(daemonPid);
  // The registry's CPU over those scrapes (and whatever else it did meanwhile: little, at rest).
  record('registryCpuPerScrapeMs', '  registry CPU per scrape', cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / scrapes, 'ms');

  const until = Date.now() + seconds * 1000;
  const scrapeTimes: number[] = [];
  const scraper = (async () => {
    while (Date.now() < until) {
      scrapeTimes.push((await scrape(url)).ms);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  const status = await statusWhile(() => Date.now() < until);
  await scraper;
  record('statusP50ScrapedMs', `status p50 while scraped every second (${status.length} asked)`, percentile(status, 50), 'ms');
  record('statusP99ScrapedMs', 'status p99 while scraped every second', percentile(status, 99), 'ms', '< 10');
  record('scrapeMaxScrapedMs', `  slowest of those ${scrapeTimes.length} scrapes`, Math.max(...scrapeTimes), 'ms');
}
