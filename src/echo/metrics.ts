/**
 * The echo's counters as Prometheus metrics (`--metrics`): a description of the shared block
 * the counters already live in (`stats.ts`), which the metrics server thread reads at each
 * scrape. Names follow Prometheus' conventions: `udp_echo_` first, the unit, `_total` last.
 *
 * @module
 */
import type { Labels, SharedBlock, SharedFamily } from "../metrics/index.ts";
import { Counter, type CounterName } from "./stats.ts";

/** The drop counters, by the `reason` label they are served under. */
const DROPS: readonly [string, CounterName][] = [
  ["oversized", "droppedOversized"],
  ["refused", "droppedRefused"],
  ["rate_limited", "droppedRateLimited"],
  ["send_error", "droppedSendError"],
  ["overload", "droppedOverload"],
  ["unreachable", "droppedUnreachable"],
];

/**
 * The families of one echo's counters (one worker's), which start at byte `byteOffset` of
 * `memory`, with `labels` on every series.
 *
 * @example
 * ```ts
 * const stats = new EchoStats({ buffer: new SharedArrayBuffer(STATS_BYTES), byteOffset: 0 });
 * serveMetrics({ port: 9707, blocks: [echoMetricsBlock(stats.counters.buffer as SharedArrayBuffer, 0, {})] });
 * ```
 */
export function echoMetricsBlock(memory: SharedArrayBuffer, byteOffset: number, labels: Labels): SharedBlock {
  const base = byteOffset / 8;
  const counter = (name: string, help: string, counterName: CounterName): SharedFamily => ({
    name,
    help,
    type: "counter",
    series: [{ labels, slot: base + Counter[counterName] }],
  });
  return {
    memory,
    families: [
      counter("udp_echo_received_datagrams_total", "Datagrams received.", "datagramsIn"),
      counter("udp_echo_received_bytes_total", "Bytes of the datagrams received.", "bytesIn"),
      counter("udp_echo_sent_datagrams_total", "Datagrams echoed.", "datagramsOut"),
      counter("udp_echo_sent_bytes_total", "Bytes of the datagrams echoed.", "bytesOut"),
      {
        name: "udp_echo_dropped_datagrams_total",
        help: "Datagrams not echoed, by reason (unreachable: the reply met an ICMP error).",
        type: "counter",
        series: DROPS.map(([reason, name]) => ({ labels: { ...labels, reason }, slot: base + Counter[name] })),
      },
      counter(
        "udp_echo_kernel_dropped_datagrams_total",
        "Datagrams the kernel dropped before the echo could receive them (not among those received).",
        "droppedByKernel",
      ),
      {
        name: "udp_echo_retries_total",
        help: "Sends and receives tried again after a transient shortage of kernel memory.",
        type: "counter",
        series: [
          { labels: { ...labels, operation: "send" }, slot: base + Counter.sendRetries },
          { labels: { ...labels, operation: "receive" }, slot: base + Counter.receiveRetries },
        ],
      },
      counter("udp_echo_restarts_total", "Echo loops restarted after a failure.", "restarts"),
    ],
  };
}
