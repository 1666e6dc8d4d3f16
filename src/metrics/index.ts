/**
 * `bun-reactor/metrics`: a runtime's figures, a socket's, and an app's own, as Prometheus
 * metrics: served from a thread of their own (`serveMetrics`), written as text
 * (`formatExposition`), or registered in an app's `prom-client` registry (`registerMetrics`).
 *
 * @example
 * ```ts
 * import { Runtime } from "bun-reactor";
 * import { RuntimeMetrics, serveMetrics } from "bun-reactor/metrics";
 *
 * using runtime = new Runtime();
 * using metrics = new RuntimeMetrics(runtime, { sampleEveryMs: 1000 });
 * using served = serveMetrics({ port: 9707, blocks: [metrics.block] });
 * runtime.blockOn(main());
 * ```
 *
 * @module
 */
export {
  checkMetricName,
  EXPOSITION_CONTENT_TYPE,
  formatExposition,
  type Labels,
  type MetricFamily,
  type MetricType,
  type Sample,
} from "./exposition.ts";
export { type PromClientMetric, type PromClientRegistry, registerMetrics } from "./prom-client.ts";
export {
  DURATION_BUCKETS_SECONDS,
  RUNTIME_METRICS_BYTES,
  RuntimeMetrics,
  type RuntimeMetricsOptions,
  runtimeMetricsBlock,
} from "./runtime-metrics.ts";
export { type MetricsHandle, type MetricsServerOptions, serveMetrics } from "./serve.ts";
export {
  checkSharedBlock,
  observe,
  readSharedBlock,
  type SharedBlock,
  type SharedFamily,
  type SharedSeries,
  slotsOf,
} from "./shared.ts";
export { socketMetrics } from "./socket-metrics.ts";
