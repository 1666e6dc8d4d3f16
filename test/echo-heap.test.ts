// The echo's hot path leaves nothing behind: what a full garbage collection finds after many
// echoes is what it found before them. (Once the JIT has compiled it, it allocates next to
// nothing either: udp-echo runs no collection after its warm-up; see src/echo/warm-up.ts.)
import { heapStats } from "bun:jsc";
import { expect, test } from "bun:test";
import { UdpSocket } from "../src/net/udp-socket.ts";
import type { Async } from "../src/runtime/future.ts";
import { Runtime, spawn } from "../src/runtime/runtime.ts";
import { sleep } from "../src/runtime/timers.ts";
import { DEFAULTS } from "../src/echo/config.ts";
import { policyFor, serveEcho } from "../src/echo/service.ts";
import { EchoStats } from "../src/echo/stats.ts";

/** Objects alive after a full collection. */
function liveObjects(): number {
  Bun.gc(true);
  return heapStats().objectCount;
}

test("20,000 echoes leave no object behind once a full collection has run", () => {
  using runtime = new Runtime();
  using server = UdpSocket.bind("127.0.0.1:0");
  using client = UdpSocket.bind("127.0.0.1:0");
  const stats = new EchoStats();
  const payload = new Uint8Array(64).fill(7);
  const buffer = new Uint8Array(2048);
  let before = 0;
  let after = 0;

  function* echoes(count: number): Async<void> {
    for (let index = 0; index < count; index++) {
      yield* client.sendTo(payload, server.localAddress);
      const { bytes } = yield* client.recvFrom(buffer);
      if (bytes.length !== payload.length) throw new Error(`echo ${index} came back with ${bytes.length} bytes`);
    }
  }

  runtime.blockOn(
    (function* (): Async<void> {
      const service = spawn(
        serveEcho([{ socket: server, policy: policyFor(DEFAULTS, stats, false) }], {
          stop: sleep(Infinity), // stopped by cancelling it below
          report: (line) => {
            throw new Error(line);
          },
          sampleSeconds: null,
        }),
      );
      // Warm up (first registrations, JIT), then count, echo, count again.
      yield* echoes(2_000);
      before = liveObjects();
      yield* echoes(20_000);
      after = liveObjects();
      service.cancel();
    })(),
  );
  // A leak of even one object per echo would be 20,000; what differs is the test's own noise.
  expect(after - before).toBeLessThan(500);
}, 60_000);
