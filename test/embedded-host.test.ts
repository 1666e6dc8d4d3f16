// The embedded host: how Bun's event loop runs an embedded runtime's turns.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { EMBEDDED_TURN_BUDGET_MS } from "../src/runtime/embedded-host.ts";
import { type Async, pollFn } from "../src/runtime/future.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { DatagramBatch } from "../src/net/datagram-batch.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { sleep, sleepUntil } from "../src/runtime/timers.ts";

/** Counts the runtime's turns (the host calls the public `turn()`). */
function countTurns(runtime: Runtime): { turns: number } {
  const counter = { turns: 0 };
  const turn = runtime.turn.bind(runtime);
  runtime.turn = () => {
    counter.turns++;
    return turn();
  };
  return counter;
}

describe("the embedded host", () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  beforeEach(() => {
    warnings.length = 0;
    process.on("warning", onWarning);
  });
  afterEach(() => {
    process.off("warning", onWarning);
  });

  // A delay past 2^31 - 1 ms is taken by setTimeout as 1 ms: the runtime woke every
  // millisecond and each arming printed a TimeoutOverflowWarning.
  test.each([
    ["a 30-day sleep", () => sleep(30 * 24 * 3600 * 1000)],
    ["a sleep until Infinity", () => sleepUntil(Infinity)],
  ])("%s neither wakes the runtime every millisecond nor warns", async (_name, makeSleep) => {
    await using runtime = new Runtime({ driver: "embedded" });
    const counter = countTurns(runtime);
    const handle = runtime.spawn(makeSleep());
    const settled = handle.promise().catch(() => "cancelled");
    await Bun.sleep(100);
    // One turn runs the task and arms the timer; a runtime waking every millisecond ran ~100.
    expect(counter.turns).toBeLessThanOrEqual(3);
    expect(warnings.map((warning) => warning.name)).toEqual([]);
    handle.cancel();
    expect(await settled).toBe("cancelled");
  });

  test("an embedded turn stops after its default budget, and Bun's loop runs between turns", async () => {
    await using runtime = new Runtime({ driver: "embedded" });
    let awaits = 0;
    const awaitsPerTurn: number[] = [];
    const turn = runtime.turn.bind(runtime);
    runtime.turn = () => {
      const before = awaits;
      const waitMs = turn();
      awaitsPerTurn.push(awaits - before);
      return waitMs;
    };
    let hostTicks = 0;
    const ticking = setInterval(() => hostTicks++, 0);
    try {
      // Always ready, and each await busy for at least 0.2 ms: only the budget ends a turn
      // before its 128 awaits. (A slow machine only makes the turns hold fewer awaits.)
      const work = pollFn(() => {
        const untilMs = performance.now() + 0.2;
        while (performance.now() < untilMs);
      });
      await runtime
        .spawn(
          (function* (): Async<void> {
            while (hostTicks < 5) {
              yield* work;
              awaits++;
            }
          })(),
        )
        .promise();
      expect(hostTicks).toBeGreaterThanOrEqual(5);
      // At >= 0.2 ms an await, the budget is passed by its ceil(budget / 0.2)-th await at the
      // latest, and that await is the turn's last (its own count lands in the next turn).
      expect(Math.max(...awaitsPerTurn)).toBeLessThanOrEqual(Math.ceil(EMBEDDED_TURN_BUDGET_MS / 0.2));
    } finally {
      clearInterval(ticking);
    }
  });

  test("with a tiny budget, turns end in the middle of the I/O and still no datagram is lost or reordered", async () => {
    // 10 µs: nearly every await passes the budget, so both tasks are cut short again and again.
    await using runtime = new Runtime({ driver: "embedded", turnBudgetMs: 0.01 });
    using server = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    runtime.spawn(
      (function* (): Async<never> {
        const batch = new DatagramBatch(16, 64);
        for (;;) yield* server.sendBatch(batch, yield* server.recvBatch(batch));
      })(),
    );
    const received = await runtime
      .spawn(
        (function* (): Async<number[]> {
          const numbers: number[] = [];
          const buffer = new Uint8Array(64);
          for (let round = 0; round < 40; round++) {
            for (let index = 0; index < 25; index++) {
              yield* client.sendTo(new TextEncoder().encode(String(round * 25 + index)), server.localAddress);
            }
            for (let index = 0; index < 25; index++) {
              numbers.push(Number(new TextDecoder().decode((yield* client.recvFrom(buffer)).bytes)));
            }
          }
          return numbers;
        })(),
      )
      .promise();
    expect(received).toEqual(Array.from({ length: 1000 }, (_, index) => index));
  });
});
