// Preloaded into a benchmarked app (`bun --preload bench/host-timer-probe.ts app.ts`): a host
// timer loop, `setTimeout(tick, 1)` over and over on the app's own event loop, that records how
// long each one took to fire. On SIGUSR2 it prints the delays since the last report as one
// line, `host-timer {"count":…,"p50":…,"p99":…,"max":…}` (milliseconds), and starts afresh.
// A timer that fires much later than 1 ms means the app's event loop was held up.
const delaysMs: number[] = [];

function arm(): void {
  const setAtMs = performance.now();
  setTimeout(() => {
    delaysMs.push(performance.now() - setAtMs);
    arm();
  }, 1);
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

process.on("SIGUSR2", () => {
  const sorted = delaysMs.splice(0).sort((a, b) => a - b);
  const report = {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
  };
  console.log(`host-timer ${JSON.stringify(report)}`);
});

arm();
export {};
