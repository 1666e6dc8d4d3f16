/**
 * `serveMetrics`: `GET /metrics` in Prometheus' text format, answered by a thread of its own from
 * shared blocks (a {@link RuntimeMetrics}' block, an app's counters in shared memory), so that a
 * scrape costs the runtime's thread nothing beyond keeping its figures, and is answered while
 * that thread blocks in the poller.
 *
 * @module
 */
import { isLoopbackHost } from "../index.ts";
import { type ServerThreadData, startServerThread } from "../server-thread/handshake.ts";
import { METRICS_SERVER_URL } from "./locations.ts";
import { checkSharedBlock, type SharedBlock } from "./shared.ts";

/** Options of {@link serveMetrics}. */
export interface MetricsServerOptions {
  /** TCP port, 0 to 65535 (0 picks a free one: read it from `MetricsHandle.url`). */
  readonly port: number;
  /** The address to listen on (default 127.0.0.1). Another than loopback prints a warning. */
  readonly host?: string;
  /** The figures to serve; a family named in several blocks (one per worker) is served as one. */
  readonly blocks: readonly SharedBlock[];
  /** Where the non-loopback warning goes (default: stderr). */
  readonly warn?: (line: string) => void;
}

/** What the server thread starts with. */
export interface MetricsServerData extends ServerThreadData {
  readonly host: string;
  readonly port: number;
  readonly blocks: readonly SharedBlock[];
}

/** Metrics being served. */
export interface MetricsHandle {
  /** Where to scrape, e.g. `http://127.0.0.1:9707/metrics`. */
  readonly url: string;
  /** Stops serving: the server thread ends. */
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * Serves `options.blocks` on `http://HOST:PORT/metrics` from a thread of its own. Throws an
 * `Error` that names the address when it cannot listen (a port in use), `RangeError` for a bad
 * port, `AddressError` for a host that is not an address.
 *
 * @example
 * ```ts
 * using metrics = new RuntimeMetrics(runtime, { sampleEveryMs: 1000 });
 * using served = serveMetrics({ port: 9707, blocks: [metrics.block] });
 * console.error(`metrics: ${served.url}`);
 * ```
 */
export function serveMetrics(options: MetricsServerOptions): MetricsHandle {
  const host = options.host ?? "127.0.0.1";
  const loopback = isLoopbackHost(host);
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RangeError(`metrics port ${String(options.port)} is not a whole number from 0 to 65535`);
  }
  const blocks = options.blocks.map(checkSharedBlock);
  if (!loopback) {
    (options.warn ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `bun-reactor: warning: the metrics listen on ${host}, not on loopback: anyone who can reach it reads them`,
    );
  }
  const { worker, port } = startServerThread<Omit<MetricsServerData, "status">>(
    METRICS_SERVER_URL,
    { host, port: options.port, blocks },
    "the metrics",
    `${host}:${options.port}`,
  );
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/metrics`;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    void worker.terminate();
  };
  return { url, close, [Symbol.dispose]: close };
}
