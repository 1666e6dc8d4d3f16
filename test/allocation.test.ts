// The echo's hot path allocates nothing per datagram: measured, not asserted by restating a
// design. See test/fixtures/echo-hot-path.ts for how.
import { expect, test } from "bun:test";
import { join } from "node:path";

/** Bytes one round of 32 echoed datagrams allocates, from the engine's log of collections. */
function bytesPerRound(mode: "echo" | "control" | "info"): { perRound: number; echoed: number } {
  const result = Bun.spawnSync([process.execPath, join(import.meta.dir, "fixtures", "echo-hot-path.ts"), mode], {
    env: { ...process.env, BUN_JSC_logGC: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const log = result.stderr.toString();
  if (result.exitCode !== 0) throw new Error(`the fixture failed (${result.exitCode}):\n${log.slice(-2000)}`);
  // "=> <size after the collection before the rounds>kb ... SEG <rounds> ... START M <size when the next one starts>kb"
  const grown = new Map<number, number>();
  for (const [, after, rounds, before] of log.matchAll(
    /=> (\d+)kb, p=[^\n]*\n(?:[^\n]*\n)*?SEG (\d+)\n(?:[^\n]*\n)*?[^\n]*START M (\d+)kb/g,
  )) {
    grown.set(Number(rounds), (Number(before) - Number(after)) * 1024);
  }
  expect([...grown.keys()]).toEqual([1000, 4000]);
  const { echoed } = JSON.parse(result.stdout.toString()) as { echoed: number };
  return { perRound: (grown.get(4000)! - grown.get(1000)!) / 3000, echoed };
}

test("the echo's hot path allocates nothing per datagram (measured by the engine's collections, in a subprocess)", () => {
  const echo = bytesPerRound("echo");
  const control = bytesPerRound("control");
  expect(echo.echoed).toBe(5500 * 32);
  // The instrument sees one small object per round...
  expect(control.perRound - echo.perRound).toBeGreaterThanOrEqual(16);
  // ...and the echo allocates at most the generator's step result of its one await per batch
  // (JavaScriptCore makes one per resume), nothing per datagram: 32 datagrams' worth of even
  // the smallest objects would be 512 bytes.
  console.log(`bytes per round of 32 datagrams: echo ${echo.perRound.toFixed(1)}, control ${control.perRound.toFixed(1)}`);
  expect(echo.perRound).toBeLessThan(64);
}, 120_000);

test("replying from each datagram's destination (a 0.0.0.0 server) allocates nothing per datagram either", () => {
  const echo = bytesPerRound("info");
  expect(echo.echoed).toBe(5500 * 32);
  console.log(`bytes per round of 32 datagrams, with datagram info: ${echo.perRound.toFixed(1)}`);
  expect(echo.perRound).toBeLessThan(64);
}, 120_000);
