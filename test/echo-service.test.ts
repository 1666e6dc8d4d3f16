// The echo service's parts, under a runtime driven by hand: admission (oversized, reflection
// guard, rate limit), the bounded reply queue, send backpressure, and restarts after failures.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DatagramBatch } from "../src/net/datagram-batch.ts";
import type { BatchSendReport } from "../src/net/batch-send.ts";
import { type BatchSendOptions, type TryResult, UdpSocket } from "../src/net/udp-socket.ts";
import type { Context } from "../src/runtime/context.ts";
import { Future, PENDING, type Poll } from "../src/runtime/future.ts";
import { WRITE } from "../src/runtime/reactor.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { EVENT_WRITABLE } from "../src/sys/abi.ts";
import { admit, type EchoPolicy, type EchoSocket } from "../src/echo/echo.ts";
import { REFUSED_PORTS, ReflectionGuard } from "../src/echo/guard.ts";
import { RateLimiter } from "../src/echo/rate-limit.ts";
import { ReplyQueue } from "../src/echo/reply-queue.ts";
import { serveEcho } from "../src/echo/service.ts";
import { EchoStats } from "../src/echo/stats.ts";
import { DRAIN_MAX, UnreachablePeers } from "../src/echo/unreachable.ts";
import { RestartLimitError, supervise } from "../src/echo/supervisor.ts";
import type { Async } from "../src/runtime/future.ts";
import { drivers, osEvent } from "./helpers.ts";

function policy(overrides: Partial<EchoPolicy> = {}): EchoPolicy {
  return {
    maxDatagram: 1500,
    offload: false,
    batchSize: 64,
    guard: new ReflectionGuard(),
    rateLimiter: null,
    stats: new EchoStats(),
    ...overrides,
  };
}

const peer = (port: number) => ({ family: 4 as const, host: "127.0.0.1", port, scopeId: 0 });

/** A future that is pending until `open()`. */
class Gate extends Future<void> {
  #open = false;
  #waker: { wake(): void } | null = null;
  open(): void {
    this.#open = true;
    this.#waker?.wake();
  }
  poll(cx: Context): Poll<void> {
    if (this.#open) return undefined;
    this.#waker = cx.waker;
    return PENDING;
  }
}

/** Drives `runtime` until `done()` or two seconds pass. */
function driveUntil(runtime: Runtime, done: () => boolean): void {
  const deadline = performance.now() + 2000;
  runtime.enter(() => {
    while (!done()) {
      if (performance.now() > deadline) throw new Error("the condition did not come true within 2 s");
      runtime.executor.runReady();
      runtime.executor.park(5);
    }
  });
}

describe("admission", () => {
  test("oversized, refused and rate-limited datagrams are counted and dropped; the rest keep their order", () => {
    const stats = new EchoStats();
    const batch = new DatagramBatch(8, 16);
    const sizes = [4, 16, 8, 2, 5];
    const ports = [5000, 5001, 53, 5003, 5004];
    sizes.forEach((size, index) => batch.set(index, new Uint8Array(size).fill(index + 1), peer(ports[index]!)));
    const kept = admit(batch, 5, policy({ maxDatagram: 8, stats }));
    // 16 bytes > 8: oversized. Port 53 (DNS): refused by the guard.
    expect(kept).toBe(3);
    expect([0, 1, 2].map((index) => [batch.size(index), batch.peerPort(index), batch.payload(index)[0]])).toEqual([
      [4, 5000, 1],
      [2, 5003, 4],
      [5, 5004, 5],
    ]);
    expect(stats.get("datagramsIn")).toBe(5);
    expect(stats.get("bytesIn")).toBe(35);
    expect(stats.get("droppedOversized")).toBe(1);
    expect(stats.get("droppedRefused")).toBe(1);
  });

  test("a datagram the kernel truncated is dropped as oversized, never echoed cut short", () => {
    using a = UdpSocket.bind("127.0.0.1:0");
    using b = UdpSocket.bind("127.0.0.1:0");
    a.trySendTo(new Uint8Array(100), b.localAddress);
    const batch = new DatagramBatch(4, 64);
    const deadline = performance.now() + 2000;
    let received = b.tryRecvBatch(batch);
    while (received.state !== "ok" && performance.now() < deadline) received = b.tryRecvBatch(batch);
    expect(batch.truncated(0)).toBe(true);
    const stats = new EchoStats();
    expect(admit(batch, 1, policy({ maxDatagram: 65507, stats }))).toBe(0);
    expect(stats.get("droppedOversized")).toBe(1);
  });

  test("without the guard, port 0 and well-known ports are answered", () => {
    const batch = new DatagramBatch(2, 8);
    batch.set(0, new Uint8Array(1), peer(7));
    batch.set(1, new Uint8Array(1), peer(19));
    expect(admit(batch, 2, policy({ guard: null }))).toBe(2);
  });
});

describe("ReflectionGuard", () => {
  test("refuses port 0 and the well-known services that loop or amplify, and nothing else", () => {
    const guard = new ReflectionGuard();
    for (const port of [0, 7, 9, 13, 17, 19, 37, 53, 123, 161, 1900, 11211]) expect(guard.refuses(port)).toBe(true);
    for (const port of [1, 80, 443, 7777, 40000, 65535]) expect(guard.refuses(port)).toBe(false);
  });

  test("docs/operations.md lists exactly the ports the guard refuses", () => {
    const operations = readFileSync(join(import.meta.dir, "..", "docs", "operations.md"), "utf8");
    const paragraph = /\*\*Reflection guard\.\*\*([^]*?)Refusals are counted/.exec(operations)![1]!;
    const listed = [...paragraph.matchAll(/\d+/g)].map((match) => Number(match[0])).sort((a, b) => a - b);
    expect(listed).toEqual([...REFUSED_PORTS].sort((a, b) => a - b));
  });
});

describe("RateLimiter", () => {
  const words = (host: number, port = 1000) => {
    const batch = new DatagramBatch(1, 1);
    batch.set(0, new Uint8Array(0), { family: 4, host: `10.0.${host >> 8}.${host & 255}`, port, scopeId: 0 });
    return batch.entryWords;
  };

  test("each source has its own bucket: a burst of one second's worth, then the refill rate", () => {
    const limiter = new RateLimiter(10);
    const a = words(1);
    const b = words(2);
    let admitted = 0;
    for (let index = 0; index < 50; index++) if (limiter.admit(a, 2, 0)) admitted++;
    expect(admitted).toBe(10);
    // Another source is not affected; another port of the same source is the same source.
    expect(limiter.admit(b, 2, 0)).toBe(true);
    expect(limiter.admit(words(1, 2000), 2, 0)).toBe(false);
    // 100 ms later one token has come back.
    expect(limiter.admit(a, 2, 100)).toBe(true);
    expect(limiter.admit(a, 2, 100)).toBe(false);
  });

  test("the table has a fixed number of slots: past it, new sources take old sources' slots", () => {
    const limiter = new RateLimiter(5, 1024);
    for (let host = 0; host < 20_000; host++) limiter.admit(words(host), 2, 0);
    expect(limiter.evictions).toBeGreaterThan(20_000 - 1024);
  });

  test("bad settings are refused", () => {
    expect(() => new RateLimiter(0)).toThrow("rate limit 0");
    expect(() => new RateLimiter(10, 1000)).toThrow("slots 1000 is not a power of two");
  });
});

describe("ReplyQueue", () => {
  test("is bounded: past its capacity the oldest replies are dropped and counted", () => {
    const stats = new EchoStats();
    const queue = new ReplyQueue(4, 8, stats);
    const batch = new DatagramBatch(1, 8);
    for (let index = 0; index < 6; index++) {
      batch.set(0, new Uint8Array([index]), peer(5000 + index));
      queue.push(batch, 0);
    }
    expect(queue.length).toBe(4);
    expect(stats.get("droppedOverload")).toBe(2);
    const [start, end] = queue.headRun();
    const firstRun = Array.from({ length: end - start }, (_, offset) => queue.store.payload(start + offset)[0]);
    expect(firstRun[0]).toBe(2); // 0 and 1 were dropped
  });
});

/**
 * A socket whose receives and readiness are the real socket's, and whose sends are recorded
 * (the first byte of each datagram) rather than sent, unless {@link refuse} says otherwise.
 */
abstract class RecordingSocket implements EchoSocket {
  readonly sent: number[] = [];
  readonly #real: UdpSocket;

  constructor(real: UdpSocket) {
    this.#real = real;
  }

  recvBatch(batch: DatagramBatch) {
    return this.#real.recvBatch(batch);
  }

  writable() {
    return this.#real.writable();
  }

  /** What a send from `start` returns instead of going, or null to let it go. */
  protected abstract refuse(start: number): TryResult<BatchSendReport> | null;

  trySendBatch(batch: DatagramBatch, end: number, options: BatchSendOptions = {}): TryResult<BatchSendReport> {
    const start = options.start ?? 0;
    const refused = this.refuse(start);
    if (refused !== null) return refused;
    let bytes = 0;
    for (let index = start; index < end; index++) {
      this.sent.push(batch.payload(index)[0]!);
      bytes += batch.size(index);
    }
    const sent = end - start;
    return { state: "ok", value: { next: end, sent, datagrams: sent, bytes, refused: 0, refusedDatagrams: 0, stalled: null } };
  }
}

/** A socket whose sends would block until `blocked` is cleared (see {@link RecordingSocket}). */
class BlockingSendSocket extends RecordingSocket {
  blocked = true;

  protected refuse(): TryResult<BatchSendReport> | null {
    return this.blocked ? { state: "would-block" } : null;
  }
}

/**
 * A socket whose sends meet ENOBUFS (the kernel short of memory, while the socket stays
 * writable) `stalls` times, then go (see {@link RecordingSocket}).
 */
class StallingSendSocket extends RecordingSocket {
  stalls: number;

  constructor(real: UdpSocket, stalls: number) {
    super(real);
    this.stalls = stalls;
  }

  protected refuse(start: number): TryResult<BatchSendReport> | null {
    if (this.stalls === 0) return null;
    this.stalls--;
    return {
      state: "ok",
      value: { next: start, sent: 0, datagrams: 0, bytes: 0, refused: 0, refusedDatagrams: 0, stalled: "ENOBUFS" },
    };
  }
}

/** A socket whose kernel may refuse segmented sends (see {@link RecordingSocket}). */
class SegmentingSocket extends RecordingSocket {
  segmentationRefused: string | null = null;

  protected refuse(): TryResult<BatchSendReport> | null {
    return null;
  }
}

describe.skipIf(process.platform !== "linux")("UnreachablePeers", () => {
  test("a drain takes at most DRAIN_MAX errors, counted as unreachable; the next drain takes the rest", async () => {
    using server = UdpSocket.bind("127.0.0.1:0");
    expect(server.enableErrorQueue()).toBe(true);
    const client = UdpSocket.bind("127.0.0.1:0");
    const departed = client.localAddress;
    client.close();
    // A burst of replies to a client that has left: an ICMP error each (loopback's are not rate-limited).
    const replies = DRAIN_MAX * 2 + 22;
    for (let index = 0; index < replies; index++) server.trySendTo(new Uint8Array(8), departed);
    const stats = new EchoStats();
    const peers = new UnreachablePeers(server, stats);
    const drains: number[] = [];
    const deadline = performance.now() + 10_000;
    while (drains.reduce((sum, taken) => sum + taken, 0) < replies) {
      if (performance.now() > deadline) throw new Error(`only ${drains.join(" + ")} of ${replies} errors came within 10 s`);
      const taken = peers.drain();
      if (taken > 0) drains.push(taken);
      else await Bun.sleep(2);
    }
    expect(Math.max(...drains)).toBe(DRAIN_MAX);
    expect(drains.slice(0, 2)).toEqual([DRAIN_MAX, DRAIN_MAX]); // all had come by the first drain
    expect(stats.get("droppedUnreachable")).toBe(replies);
    expect(peers.summary()).toBe(
      `unreachable: ${replies} replies met an ICMP error, to 1 peers; most to 127.0.0.1:${departed.port} (${replies})`,
    );
  });
});

describe.each(drivers)("the echo service (%s driver)", (driver) => {
  test("when the kernel refuses segmented sends, the service says so once and echoes on", () => {
    using runtime = new Runtime({ driver });
    using real = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    const socket = new SegmentingSocket(real);
    const stats = new EchoStats();
    const stop = new Gate();
    const reports: string[] = [];
    const options = { stop, report: (line: string) => reports.push(line), sampleSeconds: null };
    const service = runtime.spawn(serveEcho([{ socket, policy: policy({ stats }) }], options));

    // Segmented sends work: nothing to say.
    client.trySendTo(new Uint8Array([1]), real.localAddress);
    driveUntil(runtime, () => stats.get("datagramsOut") === 1);
    // The kernel refuses one (EIO): one line, however long it lasts, and the echo goes on.
    socket.segmentationRefused = "EIO";
    driveUntil(runtime, () => reports.length > 0);
    const sampled = performance.now();
    driveUntil(runtime, () => performance.now() - sampled > 600); // two more samples
    expect(reports).toEqual(["the kernel refused a segmented send (EIO): bursts are echoed one datagram per send from now on"]);
    client.trySendTo(new Uint8Array([2]), real.localAddress);
    driveUntil(runtime, () => stats.get("datagramsOut") === 2);
    expect(socket.sent).toEqual([1, 2]);
    stop.open();
    driveUntil(runtime, () => service.finished);
  });

  test("a service of several sockets echoes on each, counting into one stats, and a stop ends them all", () => {
    using runtime = new Runtime({ driver });
    using first = UdpSocket.bind("127.0.0.1:0");
    using second = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    const stats = new EchoStats();
    const stop = new Gate();
    const shared = policy({ stats });
    const listeners = [first, second].map((socket) => ({ socket, policy: shared }));
    const service = runtime.spawn(serveEcho(listeners, { stop, report: () => {}, sampleSeconds: null }));
    client.trySendTo(new Uint8Array([1]), first.localAddress);
    client.trySendTo(new Uint8Array([2]), second.localAddress);
    const from: number[] = [];
    const buffer = new Uint8Array(8);
    driveUntil(runtime, () => {
      const received = client.tryRecvFrom(buffer);
      if (received.state === "ok") from.push(received.value.peer.port);
      return from.length === 2;
    });
    expect(from.sort()).toEqual([first.localAddress.port, second.localAddress.port].sort());
    expect([stats.get("datagramsIn"), stats.get("datagramsOut")]).toEqual([2, 2]);
    const before = runtime.tasksAlive;
    stop.open();
    driveUntil(runtime, () => service.finished);
    expect(before).toBeGreaterThan(runtime.tasksAlive);
    expect(runtime.tasksAlive).toBe(0);
    expect(() => runtime.blockOn(serveEcho([], { stop, report: () => {}, sampleSeconds: null }))).toThrow(
      new RangeError("serveEcho: no listener: there is no socket to echo on"),
    );
  });

  test("ENOBUFS on send is retried after a pause and counted, never fatal; no reply is lost", () => {
    using runtime = new Runtime({ driver });
    using real = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    const socket = new StallingSendSocket(real, 5);
    const stats = new EchoStats();
    const stop = new Gate();
    const service = runtime.spawn(
      serveEcho([{ socket, policy: policy({ stats }) }], { stop, report: () => {}, sampleSeconds: null }),
    );

    // The kernel refuses five sends for want of memory: the writer pauses and tries again.
    for (const value of [1, 2, 3]) client.trySendTo(new Uint8Array([value]), real.localAddress);
    driveUntil(runtime, () => stats.get("datagramsOut") === 3);
    expect(socket.sent).toEqual([1, 2, 3]);
    expect(stats.get("sendRetries")).toBe(5);
    expect(stats.drops).toBe(0);
    expect(stats.get("restarts")).toBe(0);
    stop.open();
    driveUntil(runtime, () => service.finished);
  });

  test("while ENOBUFS lasts, the reply queue keeps its bound: the oldest are dropped and counted", () => {
    using runtime = new Runtime({ driver });
    using real = UdpSocket.bind("127.0.0.1:0", { recvBufferBytes: 1 << 20 });
    using client = UdpSocket.bind("127.0.0.1:0");
    const socket = new StallingSendSocket(real, Number.MAX_SAFE_INTEGER);
    const stats = new EchoStats();
    const stop = new Gate();
    runtime.spawn(serveEcho([{ socket, policy: policy({ stats }) }], { stop, report: () => {}, sampleSeconds: null }));
    for (let index = 0; index < 300; index++) client.trySendTo(new Uint8Array([index & 0xff]), real.localAddress);
    driveUntil(runtime, () => stats.get("datagramsIn") === 300);
    expect(stats.get("droppedOverload")).toBe(44);
    // The shortage ends: the 256 queued replies go, oldest first.
    socket.stalls = 0;
    driveUntil(runtime, () => stats.get("datagramsOut") === 256);
    expect(socket.sent[0]).toBe(44);
    expect(stats.get("sendRetries")).toBeGreaterThan(0);
    stop.open();
  });

  test("when a send would block, replies wait in the queue and the writer waits for writability through the reactor", () => {
    using runtime = new Runtime({ driver });
    using real = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    const socket = new BlockingSendSocket(real);
    const stats = new EchoStats();
    const stop = new Gate();
    const service = runtime.spawn(
      serveEcho([{ socket, policy: policy({ stats }) }], { stop, report: () => {}, sampleSeconds: null }),
    );

    // Three datagrams arrive while the socket cannot send: they are queued, none is lost.
    for (const value of [1, 2, 3]) client.trySendTo(new Uint8Array([value]), real.localAddress);
    const registration = real.registration({ runtime } as never);
    driveUntil(
      runtime,
      () => stats.get("datagramsIn") === 3 && (registration.statuses[WRITE] as { stored?: boolean } | null)?.stored === true,
    );
    expect(socket.sent).toEqual([]);
    expect(stats.get("datagramsOut")).toBe(0);

    // The socket becomes writable: the OS says so, the writer is woken and sends them in order.
    socket.blocked = false;
    runtime.reactor.dispatch(...osEvent(registration.token, EVENT_WRITABLE));
    driveUntil(runtime, () => stats.get("datagramsOut") === 3);
    expect(socket.sent).toEqual([1, 2, 3]);
    expect(stats.get("droppedOverload")).toBe(0);
    stop.open();
    driveUntil(runtime, () => service.finished);
  });

  test("under overload the queue keeps the newest replies, and drops and counts the oldest", () => {
    using runtime = new Runtime({ driver });
    using real = UdpSocket.bind("127.0.0.1:0", { recvBufferBytes: 1 << 20 });
    using client = UdpSocket.bind("127.0.0.1:0");
    const socket = new BlockingSendSocket(real);
    const stats = new EchoStats();
    const stop = new Gate();
    runtime.spawn(serveEcho([{ socket, policy: policy({ stats }) }], { stop, report: () => {}, sampleSeconds: null }));
    for (let index = 0; index < 300; index++) client.trySendTo(new Uint8Array([index & 0xff]), real.localAddress);
    driveUntil(runtime, () => stats.get("datagramsIn") === 300);
    // The queue holds 256 replies: the 44 oldest were dropped.
    expect(stats.get("droppedOverload")).toBe(44);
    socket.blocked = false;
    runtime.reactor.dispatch(...osEvent(real.registration({ runtime } as never).token, EVENT_WRITABLE));
    driveUntil(runtime, () => stats.get("datagramsOut") === 256);
    expect(socket.sent[0]).toBe(44);
    stop.open();
  });

  test("an exception in the echo loop is reported once with its cause, and echoing goes on", () => {
    using runtime = new Runtime({ driver });
    using server = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0");
    const reports: string[] = [];
    const stats = new EchoStats();
    let failures = 1;
    const flakyGuard = {
      refuses(port: number): boolean {
        if (failures > 0) {
          failures--;
          throw new TypeError("the guard broke");
        }
        return port === 0;
      },
    } as ReflectionGuard;
    const stop = new Gate();
    runtime.spawn(
      serveEcho([{ socket: server, policy: policy({ stats, guard: flakyGuard }) }], {
        stop,
        report: (line) => reports.push(line),
        sampleSeconds: null,
      }),
    );

    // The first datagram makes the loop throw; the loop restarts and echoes the second.
    client.trySendTo(new Uint8Array([1]), server.localAddress);
    driveUntil(runtime, () => stats.get("restarts") === 1);
    client.trySendTo(new Uint8Array([2]), server.localAddress);
    driveUntil(runtime, () => stats.get("datagramsOut") === 1);
    const echo = client.tryRecvFrom(new Uint8Array(8));
    expect(echo.state === "ok" && echo.value.bytes[0]).toBe(2);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toStartWith("the echo loop failed and was restarted: TypeError: the guard broke (at ");
    stop.open();
  });
});

describe("supervise", () => {
  test("gives up past the restart limit, with the last cause", () => {
    using runtime = new Runtime();
    const reports: string[] = [];
    let attempts = 0;
    const failing = () =>
      (function* (): Async<void> {
        attempts++;
        throw new Error(`failure ${attempts}`);
      })();
    expect(() =>
      runtime.blockOn(supervise(failing, { name: "the loop", restartsPerSecondMax: 3, report: (line) => reports.push(line) })),
    ).toThrow(RestartLimitError);
    expect(attempts).toBe(4);
    expect(reports).toHaveLength(3);
  });
});
