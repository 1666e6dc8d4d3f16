/**
 * Registers figures in a `prom-client` registry an app already has, so that its `/metrics`
 * shows the runtime's beside its own. `prom-client` is not imported (the package has no runtime
 * dependency): this module speaks the small part of its interface a registry calls on a metric
 * (`name`, `help`, `type`, `aggregator`, `get()`, `reset()`), tested against prom-client 15.
 *
 * @module
 */
import type { MetricFamily } from "./exposition.ts";

/**
 * What this module asks of a prom-client `Registry`. `registerMetric` takes prom-client's own
 * metric classes in its types; the registry only reads the members of {@link PromClientMetric},
 * which is what it is given.
 */
export interface PromClientRegistry {
  registerMetric(metric: never): void;
  removeSingleMetric(name: string): void;
}

/** A metric as a prom-client registry reads it. */
export interface PromClientMetric {
  name: string;
  readonly help: string;
  readonly type: MetricFamily["type"];
  readonly aggregator: "sum";
  get(): Promise<{
    name: string;
    help: string;
    type: MetricFamily["type"];
    aggregator: "sum";
    values: { value: number; labels: Record<string, string>; metricName: string }[];
  }>;
  reset(): void;
}

/**
 * Registers the families `collect` returns in `registry`, under the names they have now; each
 * scrape of the registry calls `collect` once (on the thread the registry runs on, which must be
 * the runtime's for a {@link RuntimeMetrics}). Returns a function that removes them again.
 * Throws prom-client's own error if a name is already registered.
 *
 * @example
 * ```ts
 * import { Registry } from "prom-client";
 * const registry = new Registry();
 * using metrics = new RuntimeMetrics(runtime);
 * const unregister = registerMetrics(registry, () => [...metrics.collect(), ...socketMetrics(socket)]);
 * await registry.metrics(); // the app's figures and the runtime's
 * ```
 */
export function registerMetrics(registry: PromClientRegistry, collect: () => MetricFamily[]): () => void {
  let current: Map<string, MetricFamily> | null = null;
  const family = (name: string): MetricFamily | undefined => {
    if (current === null) {
      const byName = new Map<string, MetricFamily>();
      for (const found of collect()) {
        const known = byName.get(found.name);
        byName.set(found.name, known === undefined ? found : { ...known, samples: [...known.samples, ...found.samples] });
      }
      current = byName;
      // A registry asks every metric of one scrape synchronously: collect once per scrape.
      queueMicrotask(() => (current = null));
    }
    return current.get(name);
  };
  const registered: string[] = [];
  const initial = new Map(collect().map((found) => [found.name, found]));
  for (const { name, help, type } of initial.values()) {
    const metric: PromClientMetric = {
      name,
      help,
      type,
      aggregator: "sum",
      get: async () => ({
        name,
        help,
        type,
        aggregator: "sum",
        values: (family(name)?.samples ?? []).map((sample) => ({
          value: sample.value,
          labels: { ...sample.labels },
          metricName: `${name}${sample.suffix}`,
        })),
      }),
      reset: () => {},
    };
    (registry.registerMetric as (metric: PromClientMetric) => void).call(registry, metric);
    registered.push(name);
  }
  return () => {
    for (const name of registered) registry.removeSingleMetric(name);
  };
}
