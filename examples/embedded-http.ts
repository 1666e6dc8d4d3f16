/**
 * One Bun process, two servers: a UDP echo that runs as tasks on bun-reactor's runtime, and
 * `Bun.serve` answering HTTP beside it on Bun's own event loop. `GET /stats` returns the
 * echo's counters as JSON.
 *
 * Usage: bun examples/embedded-http.ts [UDP_PORT] [HTTP_PORT] [HOST]
 * (defaults 7777, 8080 and 127.0.0.1; port 0 picks a free one). Stop it with Ctrl-C.
 * `TURN_BUDGET_MS` in the environment sets the runtime's turn budget (default 0.1 ms; `Infinity`
 * turns it off): how long the echo may hold Bun's thread before HTTP gets its turn.
 *
 * ```sh
 * bun examples/embedded-http.ts &
 * echo hello | socat -t1 - UDP:127.0.0.1:7777
 * curl http://127.0.0.1:8080/stats
 * ```
 */
import { type Async, DatagramBatch, Runtime, sleep, UdpSocket } from "bun-reactor";

const [udpPort = "7777", httpPort = "8080", host = "127.0.0.1"] = process.argv.slice(2);

const stats = { datagrams: 0, bytes: 0, sendErrors: 0 };

/**
 * Datagrams a batch holds. A turn cannot stop in the middle of a receive or a send, so one batch
 * is how far a turn may pass its budget. Under `bench:fairness`'s flood, at the default budget
 * (0.1 ms), turns took 0.07 ms at the median and 0.20 ms at p90 with 32; with 64, 0.09 and
 * 0.34 ms, and HTTP waited that much longer.
 */
const BATCH_DATAGRAMS = 32;

/** Send options for a whole batch, made once. */
const FROM_START = {};

/**
 * The echo: receive a batch, send it back to the senders, and count. Its futures are made once
 * and awaited again and again, and a send that the socket takes at once needs no future: the
 * loop allocates nothing, so that the garbage collector, which pauses Bun's thread and with it
 * every HTTP request, has nothing to do for it. (Made anew each time, the receive and send
 * futures and the send's options cost an eden collection of 1–5 ms about twice a second under
 * `bench:fairness`'s flood.)
 */
function* echo(socket: UdpSocket): Async<never> {
  const batch = new DatagramBatch(BATCH_DATAGRAMS, 65507);
  const receive = socket.recvBatch(batch); // each await receives a new batch
  const writable = socket.writable();
  for (;;) {
    const count = yield* receive;
    for (let index = 0; index < count; index++) stats.bytes += batch.size(index);
    stats.datagrams += count;
    // A datagram the OS refuses (an address it cannot reach) is refused alone, and counted; the
    // others still go. When the socket is full, wait until it is writable; when the kernel is
    // short of memory for a moment (ENOBUFS), the send stops with the rest kept (`stalled`):
    // pause, then send the rest.
    for (let next = 0; next < count;) {
      const result = socket.trySendBatch(batch, count, next === 0 ? FROM_START : { start: next });
      if (result.state === "would-block") {
        yield* writable;
        continue;
      }
      stats.sendErrors += result.value.refused;
      next = result.value.next;
      if (result.value.stalled !== null) yield* sleep(1);
    }
  }
}

/** The turn budget from the environment, if set; the runtime refuses one that is not > 0. */
function turnBudgetFromEnv(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Number(text);
  if (text.trim() === "" || Number.isNaN(ms)) throw new RangeError(`TURN_BUDGET_MS "${text}" is not a number of milliseconds`);
  return ms;
}

const turnBudgetMs = turnBudgetFromEnv(process.env.TURN_BUDGET_MS);
const runtime = new Runtime({ driver: "embedded", ...(turnBudgetMs === undefined ? {} : { turnBudgetMs }) });
const socket = UdpSocket.bind({ host, port: Number(udpPort) }, { recvBufferBytes: 4 << 20, sendBufferBytes: 4 << 20 });
const echoTask = runtime.spawn(echo(socket), { name: "udp echo" });

const http = Bun.serve({
  hostname: host,
  port: Number(httpPort),
  fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/stats") return Response.json({ ...stats, tasks: runtime.tasksAlive });
    return new Response("not found: try /stats\n", { status: 404 });
  },
});

const udpAddress = `${socket.localAddress.host}:${socket.localAddress.port}`;
console.log(`embedded-http listening on udp ${udpAddress}, http ${host}:${http.port}`);

/** Closes everything; with nothing left to keep it alive, the process then exits by itself. */
function stop(signal: string): void {
  runtime.close(); // cancels the echo task, closes the socket, ends the reactor thread
  void http.stop(true);
  console.log(`stopped on ${signal}: ${JSON.stringify(stats)}`);
}

process.once("SIGINT", () => stop("SIGINT"));
process.once("SIGTERM", () => stop("SIGTERM"));

// The task's promise settles if the echo ever fails: report it rather than lose it.
echoTask.promise().catch((error: unknown) => {
  if ((error as Error).name !== "TaskCancelledError") console.error("the echo failed:", error);
});
