/**
 * Metrics whose values live in shared memory: the thread that counts writes a slot of a
 * `Float64Array` over a `SharedArrayBuffer` (a store, no message, no lock), and any thread that
 * holds the block's description reads them when it is scraped. This is how `GET /metrics` is
 * answered by a server thread of its own without ever asking the runtime's thread: the runtime
 * keeps counting, the scrape reads.
 *
 * Each slot is one `Float64Array` element (exact counts up to 2^53), written by one thread only.
 * A reader may see one counter a moment older than another, never a torn or decreasing one
 * (aligned 8-byte stores are single instructions on the platforms Bun runs on).
 *
 * @module
 */
import { checkMetricName, type Labels, type MetricFamily, type MetricType, type Sample } from "./exposition.ts";

/** One labelled series of a shared family: where its value (a histogram: its buckets, then its sum) lives. */
export interface SharedSeries {
  readonly labels: Labels;
  /** Index in a `Float64Array` over the block's memory. */
  readonly slot: number;
}

/**
 * A family whose values are in shared memory. A histogram's series takes `bounds.length + 2`
 * slots from `slot`: its bucket counts, not cumulative (the last, `+Inf`, is the observations
 * above every bound), then the sum of the observations.
 */
export interface SharedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** A histogram's bucket upper bounds, ascending (without `+Inf`). */
  readonly bounds?: readonly number[];
  readonly series: readonly SharedSeries[];
}

/** Shared memory and the families that live in it: plain data, which can be posted to another thread. */
export interface SharedBlock {
  readonly memory: SharedArrayBuffer;
  readonly families: readonly SharedFamily[];
}

/** How many slots a series of `family` takes. */
export function slotsOf(family: Pick<SharedFamily, "type" | "bounds">): number {
  return family.type === "histogram" ? family.bounds!.length + 2 : 1;
}

/**
 * Checks a block's description against its memory: valid names, ascending bounds, every slot
 * inside the memory. Throws a `TypeError` or `RangeError` that names the family.
 *
 * @example
 * ```ts
 * const memory = new SharedArrayBuffer(8);
 * checkSharedBlock({ memory, families: [{ name: "up", help: "Up.", type: "gauge", series: [{ labels: {}, slot: 0 }] }] });
 * ```
 */
export function checkSharedBlock(block: SharedBlock): SharedBlock {
  const slots = block.memory.byteLength / 8;
  for (const family of block.families) {
    if (family.type === "histogram") {
      const bounds = family.bounds;
      if (
        bounds === undefined ||
        bounds.length === 0 ||
        bounds.some((bound, index) => index > 0 && !(bound > bounds[index - 1]!))
      ) {
        throw new RangeError(`histogram ${family.name}: bounds must be one or more ascending numbers`);
      }
    }
    for (const series of family.series) {
      checkMetricName(family.name, series.labels);
      if (!Number.isInteger(series.slot) || series.slot < 0 || series.slot + slotsOf(family) > slots) {
        throw new RangeError(`${family.name}: slot ${series.slot} is outside the block's ${slots} slots`);
      }
    }
  }
  return block;
}

/**
 * Records one observation in a histogram series that starts at `slot` of `values`: its bucket
 * and the sum. On the counting thread; no allocation.
 *
 * @example
 * ```ts
 * observe(values, 0, [0.001, 0.01], 0.004); // buckets [0, 1, 0], sum 0.004
 * ```
 */
export function observe(values: Float64Array, slot: number, bounds: readonly number[], value: number): void {
  let bucket = 0;
  while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
  values[slot + bucket]!++;
  values[slot + bounds.length + 1]! += value;
}

function histogramSamples(values: Float64Array, series: SharedSeries, bounds: readonly number[]): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let bucket = 0; bucket <= bounds.length; bucket++) {
    cumulative += values[series.slot + bucket]!;
    const le = bucket === bounds.length ? "+Inf" : String(bounds[bucket]);
    samples.push({ suffix: "_bucket", labels: { ...series.labels, le }, value: cumulative });
  }
  samples.push({ suffix: "_sum", labels: series.labels, value: values[series.slot + bounds.length + 1]! });
  samples.push({ suffix: "_count", labels: series.labels, value: cumulative });
  return samples;
}

/**
 * The families of a block with their values now. Safe on any thread that holds the block.
 *
 * @example
 * ```ts
 * formatExposition(readSharedBlock(block));
 * ```
 */
export function readSharedBlock(block: SharedBlock): MetricFamily[] {
  const values = new Float64Array(block.memory);
  return block.families.map((family) => ({
    name: family.name,
    help: family.help,
    type: family.type,
    samples: family.series.flatMap((series) =>
      family.type === "histogram"
        ? histogramSamples(values, series, family.bounds!)
        : [{ suffix: "" as const, labels: series.labels, value: values[series.slot]! }],
    ),
  }));
}
