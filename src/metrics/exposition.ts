/**
 * Prometheus' text exposition format (version 0.0.4), written, not parsed: metric families
 * (counters, gauges, histograms) with their samples, as `GET /metrics` serves them and as
 * `promtool check metrics` reads them. Names and label names are checked when a family is made,
 * so a scrape never meets one Prometheus would refuse.
 *
 * @module
 */

/** The kinds of metric this module writes. */
export type MetricType = "counter" | "gauge" | "histogram";

/** Label names to values, e.g. `{ worker: "0" }`. */
export type Labels = Readonly<Record<string, string>>;

/** One line of a family: its name's suffix (a histogram's `_bucket`, `_sum`, `_count`), labels and value. */
export interface Sample {
  readonly suffix: "" | "_bucket" | "_sum" | "_count";
  readonly labels: Labels;
  readonly value: number;
}

/** A metric family: one name, one help text, one type, any number of labelled samples. */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
}

/** The content type of the format, for the `Content-Type` header of a scrape. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Checks a metric name and label names against the format's rules; returns the name. Throws a
 * `TypeError` that names the bad one.
 *
 * @example
 * ```ts
 * checkMetricName("udp_echo_datagrams_received_total", { worker: "0" }); // returns the name
 * checkMetricName("udp-echo", {}); // TypeError: metric name "udp-echo" is not [a-zA-Z_:][a-zA-Z0-9_:]*
 * ```
 */
export function checkMetricName(name: string, labels: Labels): string {
  if (typeof name !== "string" || !METRIC_NAME.test(name)) {
    throw new TypeError(`metric name ${JSON.stringify(name)} is not [a-zA-Z_:][a-zA-Z0-9_:]*`);
  }
  for (const [label, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(label) || label.startsWith("__") || label === "le") {
      throw new TypeError(`label name ${JSON.stringify(label)} of ${name} is not [a-zA-Z_][a-zA-Z0-9_]* (nor __… or le)`);
    }
    if (typeof value !== "string") throw new TypeError(`label ${label} of ${name} is ${typeof value}, not a string`);
  }
  return name;
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** A value as the format writes it: `+Inf`, `-Inf`, `NaN`, or the number. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/**
 * Writes families in the text format. Families of the same name (one per worker, say) are
 * written as one, under one `# HELP` and `# TYPE`, in the order the name first appears; they
 * must agree on the type.
 *
 * @example
 * ```ts
 * formatExposition([{ name: "up", help: "Whether it is up.", type: "gauge", samples: [{ suffix: "", labels: {}, value: 1 }] }]);
 * // "# HELP up Whether it is up.\n# TYPE up gauge\nup 1\n"
 * ```
 */
export function formatExposition(families: readonly MetricFamily[]): string {
  const merged = new Map<string, { help: string; type: MetricType; samples: Sample[] }>();
  for (const family of families) {
    const known = merged.get(family.name);
    if (known === undefined) merged.set(family.name, { help: family.help, type: family.type, samples: [...family.samples] });
    else if (known.type !== family.type) {
      throw new TypeError(`metric ${family.name} is both a ${known.type} and a ${family.type}`);
    } else known.samples.push(...family.samples);
  }
  const lines: string[] = [];
  for (const [name, family] of merged) {
    lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`);
    for (const sample of family.samples)
      lines.push(`${name}${sample.suffix}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
