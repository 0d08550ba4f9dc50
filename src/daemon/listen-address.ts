/**
 * `--metrics-listen [ADDR:]PORT`: where the metrics listener binds. ADDR is an IPv4 address, a
 * host name or a bracketed IPv6 address ([::1]); without it, 127.0.0.1 (the metrics are not for
 * the whole network unless the admin says so).
 */
import net from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

export const DEFAULT_METRICS_HOST = '127.0.0.1';
/**
 * The port `vmstated_metrics_listen` examples use. Prometheus's list of default exporter ports
 * (github.com/prometheus/prometheus/wiki/Default-port-allocations) has no entry for it as far as
 * we could read the list; it is not registered there.
 */
export const SUGGESTED_METRICS_PORT = 10123;

/** Parses `[ADDR:]PORT`; throws an Error saying what is wrong. */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:(\[[^\]]*\]|[^:[\]]*):)?([^:]*)$/.exec(text);
  if (match === null) throw new Error(`"${text}" is not [ADDR:]PORT (write an IPv6 address in brackets: [::1]:PORT)`);
  const [, hostPart, portText] = match;
  if (!/^\d+$/.test(portText!) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new Error(`"${text}": the port must be a number from 1 to 65535, not "${portText}"`);
  }
  let host = hostPart ?? DEFAULT_METRICS_HOST;
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (net.isIPv6(host) === false) throw new Error(`"${text}": ${hostPart} is not an IPv6 address`);
  }
  if (host === '') throw new Error(`"${text}": the address before the port is empty (leave out the colon for ${DEFAULT_METRICS_HOST})`);
  return { host, port: Number(portText) };
}

/** host:port as a person writes it, IPv6 in brackets. */
export function formatListenAddress({ host, port }: ListenAddress): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}
