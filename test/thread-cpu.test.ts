// The calling thread's CPU time, from the OS's clock of it: work counts, sleep does not, and it
// is fresh to the call (not to the last scheduler tick, as process.threadCpuUsage() is on Linux).
import { expect, test } from "bun:test";
import { threadCpuMs } from "../src/sys/thread-cpu.ts";

test("threadCpuMs counts this thread's work and not the time it sleeps", () => {
  // Sleeping 20 ms: the thread is off the core, its CPU time hardly moves.
  const beforeSleep = threadCpuMs();
  Bun.sleepSync(20);
  expect(threadCpuMs() - beforeSleep).toBeLessThan(5);
  // Spinning: it moves on, and gets past 3 ms (a generous bound on the wall clock, for a loaded machine).
  const beforeWork = threadCpuMs();
  const giveUpAt = performance.now() + 10_000;
  while (threadCpuMs() - beforeWork < 3 && performance.now() < giveUpAt);
  expect(threadCpuMs() - beforeWork).toBeGreaterThanOrEqual(3);
});

test("threadCpuMs is fresh at each read: 0.3 ms of spinning is never read as 0, nor as more than the wall clock saw", () => {
  // process.threadCpuUsage() is only as fresh as the last scheduler tick on Linux: it read such
  // spins as 0 ms a third of the time, and as up to 3.9 ms.
  for (let round = 0; round < 50; round++) {
    const cpuBefore = threadCpuMs();
    const wallBefore = performance.now();
    while (performance.now() - wallBefore < 0.3);
    const cpuMs = threadCpuMs() - cpuBefore;
    const wallMs = performance.now() - wallBefore;
    expect(cpuMs).toBeGreaterThan(0);
    expect(cpuMs).toBeLessThanOrEqual(wallMs + 0.05);
  }
});
