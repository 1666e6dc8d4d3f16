/**
 * The echo under chaos: the echo service on 127.0.0.1 and ::1 at once, on a library built
 * with fault injection, with the runtime's invariants checked as it runs. Started by
 * `scripts/chaos.ts` with `BUN_REACTOR_LIB` pointing at that library.
 *
 * Usage: `bun scripts/chaos/echo.ts SEED RATE_PPM`. Prints `ready V4PORT V6PORT`, serves until
 * SIGTERM, then prints one JSON line: the counters, the faults injected, the invariant
 * violations and the descriptors left open.
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { SignalWatch } from "../../src/net/signal-watch.ts";
import { UdpSocket } from "../../src/net/udp-socket.ts";
import { joinAll } from "../../src/runtime/combinators.ts";
import type { Async } from "../../src/runtime/future.ts";
import { Runtime, spawn } from "../../src/runtime/runtime.ts";
import { sleep } from "../../src/runtime/timers.ts";
import { configureFaults, faultCounts } from "../../src/sys/faults.ts";
import { serveEcho, BATCH_SIZE } from "../../src/echo/service.ts";
import { Counter, EchoStats } from "../../src/echo/stats.ts";

/** How often the invariants are checked while the echo runs. */
const CHECK_EVERY_MS = 2;
/** The largest datagram the load sends (`scripts/chaos.ts`), and so the receive slot size. */
const MAX_DATAGRAM = 9000;

const openDescriptors = () => new Set(readdirSync("/proc/self/fd"));

function main(seed: number, ratePpm: number): void {
  // Bun's own descriptors are open by now; anything opened from here on must be closed.
  const before = openDescriptors();
  const violations: string[] = [];
  const stats = new EchoStats();
  const runtime = new Runtime();
  const sockets = [UdpSocket.bind("127.0.0.1:0"), UdpSocket.bind("[::1]:0")];
  const signals = SignalWatch.open(["SIGTERM", "SIGINT"]);
  const check = (when: string) => {
    for (const problem of [...runtime.reactor.checkInvariants(), ...runtime.executor.checkInvariants()]) {
      if (violations.length < 20) violations.push(`${when}: ${problem}`);
    }
  };
  configureFaults(seed, ratePpm);
  console.log(`ready ${sockets[0]!.localAddress.port} ${sockets[1]!.localAddress.port}`);
  let failure: string | null = null;
  try {
    runtime.blockOn(
      (function* (): Async<void> {
        const checker = spawn(
          (function* (): Async<never> {
            for (;;) {
              check("while running");
              yield* sleep(CHECK_EVERY_MS);
            }
          })(),
          { name: "invariant checker" },
        );
        // A task's handle can be joined by both echoes (a future, by one task at a time).
        const stop = spawn(signals.next(), { name: "signal" });
        const policy = {
          maxDatagram: MAX_DATAGRAM,
          batchSize: BATCH_SIZE,
          guard: null,
          rateLimiter: null,
          offload: false,
          stats,
        };
        const options = {
          stop,
          report: (line: string) => void violations.push(`echo loop failed: ${line}`),
          sampleSeconds: null,
        };
        yield* joinAll(sockets.map((socket) => spawn(serveEcho([{ socket, policy }], options), { name: "echo" })));
        checker.cancel();
      })(),
      { name: "chaos main" },
    );
  } catch (error) {
    failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  const faults = faultCounts();
  configureFaults(seed, 0); // what follows is bookkeeping, not the system under test
  check("at the end");
  runtime.close();
  for (const socket of sockets) socket.close();
  signals.close();
  const leaked = [...openDescriptors()].filter((fd) => !before.has(fd));
  const counters = Object.fromEntries(Object.entries(Counter).map(([name, slot]) => [name, stats.counters[slot]!]));
  console.log(JSON.stringify({ counters, faults, violations, leaked, failure }));
}

main(Number(process.argv[2]), Number(process.argv[3]));
