/**
 * The metrics listener (`vmstated --metrics-listen`): HTTP that serves `GET /metrics` (and HEAD)
 * and nothing else: 404 for any other path, 405 for any other method. It shares nothing with the
 * control socket but the event loop, and a scrape does no work that waits on a VM.
 */
import http from 'node:http';
import { formatListenAddress } from './listen-address.js';
import type { ListenAddress } from './listen-address.js';
import type { Logger } from './logger.js';

/** Scrapers connected at once beyond this are refused, so none can use up the daemon's descriptors. */
const MAX_CONNECTIONS = 64;
/** A client gets this long to send its request headers (a slow-loris holds nothing for long). */
const HEADERS_TIMEOUT_MS = 10_000;

export type Exposition = () => Promise<string>;

export class MetricsListener {
  private readonly server: http.Server;

  constructor(
    private readonly exposition: Exposition,
    private readonly contentType: string,
    private readonly log: Logger,
  ) {
    this.server = http.createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: HEADERS_TIMEOUT_MS }, (request, response) => {
      void this.serve(request, response);
    });
    this.server.maxConnections = MAX_CONNECTIONS;
  }

  /** Binds; a failure is an Error for a person (the daemon's startup reports it). */
  listen(address: ListenAddress): Promise<void> {
    const where = formatListenAddress(address);
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(new Error(`cannot listen for metrics on ${where}: ${err.message}`));
      this.server.once('error', onError);
      this.server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.log.error({ err }, 'metrics listener error'));
        this.log.info({ address: where }, 'serving metrics at /metrics');
        resolve();
      });
    });
  }

  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?', 1)[0];
    if (path !== '/metrics') return this.reply(response, 404, 'Not Found: vmstated serves its metrics at /metrics only\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return this.reply(response, 405, 'Method Not Allowed: use GET\n');
    }
    let body: string;
    try {
      body = await this.exposition();
    } catch (err) {
      this.log.error({ err }, 'metrics: cannot make the exposition');
      return this.reply(response, 500, `cannot collect the metrics: ${(err as Error).message}\n`);
    }
    response.writeHead(200, { 'Content-Type': this.contentType, 'Content-Length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  private reply(response: http.ServerResponse, status: number, text: string): void {
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    response.end(text);
  }
}
