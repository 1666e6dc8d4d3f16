// The fairness benchmark's HTTP client: one request at a time (`GET URL`, keep-alive) for
// SECONDS, each timed from the call to the end of its body. Prints one JSON object:
// `{"requests":…,"failed":…,"perSec":…,"p50":…,"p99":…,"max":…}` (latencies in milliseconds).
// Usage: bun bench/http-probe.ts URL SECONDS
const [url, secondsText = "2"] = process.argv.slice(2);
if (url === undefined) throw new Error("usage: bun bench/http-probe.ts URL SECONDS");
const seconds = Number(secondsText);
if (!(seconds > 0)) throw new RangeError(`SECONDS ${secondsText} is not a positive number`);

const latenciesMs: number[] = [];
let failed = 0;
const startMs = performance.now();
const endMs = startMs + seconds * 1000;
while (performance.now() < endMs) {
  const sentMs = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    if (response.ok) latenciesMs.push(performance.now() - sentMs);
    else failed++;
  } catch {
    failed++;
    // A refused or dead server: do not spin on it.
    await Bun.sleep(10);
  }
}
const elapsedSeconds = (performance.now() - startMs) / 1000;
const sorted = latenciesMs.sort((a, b) => a - b);
const at = (fraction: number) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
console.log(
  JSON.stringify({
    requests: sorted.length,
    failed,
    perSec: sorted.length / elapsedSeconds,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted.at(-1) ?? null,
  }),
);
export {};
