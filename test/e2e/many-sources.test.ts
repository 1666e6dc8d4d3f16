// End-to-end: 50,000 distinct sources pass by a server with --rate-limit on. Its resident
// memory must stay within what the limiter states (a fixed table of 65,536 slots, 2.5 MiB),
// and a well-behaved client must be echoed at its full rate all the while.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runProcess } from "../helpers.ts";
import { ensureBuilt, startServer } from "./server.ts";

const clients = join(import.meta.dir, "..", "clients");
const SOURCES = 50_000;
const MIB = 1024 * 1024;
/** The limiter's table (`src/echo/rate-limit.ts`): touched page by page as sources arrive. */
const LIMITER_TABLE_BYTES = 2.5 * MIB;
/**
 * What the JavaScript heap and JIT may add meanwhile, measured on the development machine: 2 to
 * 4 MiB with the same flood and no rate limit; 12 to 15 MiB when, as here, every source leaves
 * at once and every reply meets an ICMP error read from the error queue (50,000 and 120,000
 * departures: the growth is the heap's size, not a cost per source).
 */
const HEAP_HEADROOM_BYTES = 16 * MIB;

/**
 * Offload off: with it, each reply slot holds a 64 KiB burst, and the reply queue's 16 MiB are
 * touched page by page as it fills, which is the queue's bound, not the limiter's.
 */
const LIMITER_ONLY = ["--offload", "off"];

function residentBytes(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kib) * 1024;
}

const totals = (stdout: string) => {
  const line = stdout.split("\n").find((candidate) => candidate.startsWith("totals: "))!;
  const number = (name: string) => Number(new RegExp(`${name} (\\d+)`).exec(line)?.[1]);
  // Every drop counter, whatever its reason: "drops oversized 0, refused 0, …" up to the next field.
  const drops = /drops (.*?), send-retry/
    .exec(line)![1]!
    .split(", ")
    .reduce((sum, field) => sum + Number(field.split(" ").at(-1)), 0);
  // Datagrams the kernel dropped before the server read them (its receive buffer full while it
  // fell behind, as on a loaded machine): not part of `in`, but every one sent is one or the other.
  const droppedByKernel = number("dropped by kernel");
  return { in: number("in"), out: number("out"), rateLimited: number("rate-limited"), drops, droppedByKernel };
};

beforeAll(async () => {
  await ensureBuilt();
});

describe.skipIf(process.platform !== "linux")("udp-echo --rate-limit with 50,000 distinct sources", () => {
  test("across 127.0.0.0/8: memory within the limiter's bound, a steady client echoed throughout", async () => {
    await using server = await startServer(["--port", "0", "--rate-limit", "100", ...LIMITER_ONLY]);
    const port = String(server.port);
    // Warm up (JIT, heap) with sources of the same kind, then take the baseline.
    await runProcess(["python3", join(clients, "many-sources.py"), "127.0.0.1", port, "2000"]);
    const baseline = residentBytes(server.process.pid);
    // 50 datagrams per second from 127.0.0.1, half its limit, while the sources pass by.
    const steady = runProcess(["python3", join(clients, "steady-client.py"), "127.0.0.1", port, "50", "6"]);
    const flood = await runProcess(["python3", join(clients, "many-sources.py"), "127.0.0.1", port, String(SOURCES)]);
    expect(flood.stdout.trim()).toBe(`sent ${SOURCES}`);
    const { stdout: steadyLine } = await steady;
    const grown = residentBytes(server.process.pid) - baseline;
    const [sent, echoed, late] = /sent (\d+) echoed (\d+) late (\d+)/.exec(steadyLine)!.slice(1).map(Number);
    expect(sent).toBeGreaterThan(200);
    expect({ echoed, late }).toEqual({ echoed: sent, late: 0 });
    expect(grown).toBeLessThan(LIMITER_TABLE_BYTES + HEAP_HEADROOM_BYTES);
    const counted = totals((await server.stop()).stdout);
    expect(counted.in + counted.droppedByKernel).toBe(2000 + SOURCES + sent!);
    expect(counted.out + counted.drops).toBe(counted.in);
  }, 60_000);

  test("::1 from 50,000 ports: one source to the limiter, memory within its bound, every datagram counted", async () => {
    await using server = await startServer(["--host", "::1", "--port", "0", "--rate-limit", "100", ...LIMITER_ONLY]);
    const port = String(server.port);
    await runProcess(["python3", join(clients, "many-sources.py"), "::1", port, "2000"]);
    const baseline = residentBytes(server.process.pid);
    const flood = await runProcess(["python3", join(clients, "many-sources.py"), "::1", port, String(SOURCES)]);
    expect(flood.stdout.trim()).toBe(`sent ${SOURCES}`);
    expect(residentBytes(server.process.pid) - baseline).toBeLessThan(LIMITER_TABLE_BYTES + HEAP_HEADROOM_BYTES);
    // The port is not part of a source: all of ::1 shares one bucket, so most are over its rate.
    const counted = totals((await server.stop()).stdout);
    expect(counted.in + counted.droppedByKernel).toBe(2000 + SOURCES);
    expect(counted.rateLimited).toBeGreaterThan(SOURCES / 2);
    expect(counted.out + counted.drops).toBe(counted.in);
  }, 60_000);
});
