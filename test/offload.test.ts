// UDP GRO/GSO below the echo: coalesced batch entries, the socket's offload option, and the
// echo's checks applied to each datagram of a burst (admission, counters, the reply queue).
import { describe, expect, test } from "bun:test";
import { DatagramBatch, SEGMENT_BYTES_MAX } from "../src/net/datagram-batch.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { Layout } from "../src/sys/abi.ts";
import { admit, type EchoPolicy, sendRange } from "../src/echo/echo.ts";
import { ReflectionGuard } from "../src/echo/guard.ts";
import { RateLimiter } from "../src/echo/rate-limit.ts";
import { ReplyQueue } from "../src/echo/reply-queue.ts";
import { EchoStats } from "../src/echo/stats.ts";

const linux = process.platform === "linux";
const peer = (port: number) => ({ family: 4 as const, host: "127.0.0.1", port, scopeId: 0 });

function policy(overrides: Partial<EchoPolicy> = {}): EchoPolicy {
  return {
    maxDatagram: 65507,
    offload: true,
    batchSize: 8,
    guard: new ReflectionGuard(),
    rateLimiter: null,
    stats: new EchoStats(),
    ...overrides,
  };
}

/** Datagrams of `sizes` bytes end to end; datagram `n` is filled with `n + 1`. */
function burstBytes(sizes: number[]): Uint8Array {
  const bytes = new Uint8Array(sizes.reduce((sum, size) => sum + size, 0));
  let offset = 0;
  sizes.forEach((size, index) => {
    bytes.fill(index + 1, offset, offset + size);
    offset += size;
  });
  return bytes;
}

/** Puts a burst of `count` datagrams of `segment` bytes, the last of `last`, in entry `index`. */
function setBurst(batch: DatagramBatch, index: number, burst: { segment: number; count: number; last: number; port: number }) {
  const sizes = Array.from({ length: burst.count }, (_, n) => (n === burst.count - 1 ? burst.last : burst.segment));
  batch.set(index, burstBytes(sizes), peer(burst.port));
  batch.setSegmentSize(index, burst.segment);
}

/** The datagrams of entry `index`, each as an array of its bytes. */
function datagramsOf(batch: DatagramBatch, index: number): number[][] {
  return Array.from({ length: batch.datagramCount(index) }, (_, n) => [...batch.datagram(index, n)]);
}

describe("a coalesced batch entry", () => {
  test("is N datagrams of segmentSize bytes end to end, the last one possibly shorter", () => {
    const batch = new DatagramBatch(2, 4096);
    setBurst(batch, 0, { segment: 100, count: 6, last: 37, port: 5000 });
    expect(batch.size(0)).toBe(537);
    expect(batch.segmentSize(0)).toBe(100);
    expect(batch.datagramCount(0)).toBe(6);
    expect(datagramsOf(batch, 0).map((datagram) => [datagram.length, datagram[0]])).toEqual([
      [100, 1],
      [100, 2],
      [100, 3],
      [100, 4],
      [100, 5],
      [37, 6],
    ]);
    expect(() => batch.datagram(0, 6)).toThrow("datagram 6 is not from 0 to 5: entry 0 holds 6");
  });

  test("a plain entry is one datagram whose segment size is its size, an empty one included", () => {
    const batch = new DatagramBatch(2, 64);
    batch.set(0, new Uint8Array(40), peer(5000));
    batch.set(1, new Uint8Array(0), peer(5000));
    expect([batch.segmentSize(0), batch.datagramCount(0)]).toEqual([40, 1]);
    expect([batch.segmentSize(1), batch.datagramCount(1)]).toEqual([0, 1]);
    // A segment size of at least the entry's size leaves it one datagram.
    batch.setSegmentSize(0, 40);
    expect([batch.segmentSize(0), batch.datagramCount(0)]).toEqual([40, 1]);
    // Filling the slot again makes it plain again.
    setBurst(batch, 0, { segment: 10, count: 4, last: 10, port: 5000 });
    batch.set(0, new Uint8Array(40), peer(5000));
    expect(batch.datagramCount(0)).toBe(1);
  });

  test("an oversized segment size, or one that makes too many datagrams, is refused with a clear error", () => {
    const batch = new DatagramBatch(1, Layout.coalescedMax);
    batch.set(0, new Uint8Array(65_000), peer(5000));
    expect(() => batch.setSegmentSize(0, 70_000)).toThrow(
      new RangeError(`segment size 70000 is not a whole number of bytes from 1 to ${SEGMENT_BYTES_MAX}`),
    );
    expect(() => batch.setSegmentSize(0, 0)).toThrow("segment size 0 is not a whole number of bytes");
    expect(() => batch.setSegmentSize(0, 1.5)).toThrow("segment size 1.5 is not a whole number of bytes");
    expect(() => batch.setSegmentSize(0, 1000)).toThrow(
      new RangeError("segment size 1000 would cut entry 0 (65000 bytes) into 65 datagrams; at most 64 go in one send"),
    );
    batch.setSegmentSize(0, 1016); // 64 datagrams: the most one send takes
    expect(batch.datagramCount(0)).toBe(64);
  });
});

describe("the offload option of a UDP socket", () => {
  test("says whether it is on, and why not: on where the kernel allows it, off with the reason elsewhere", () => {
    using asked = UdpSocket.bind("127.0.0.1:0", { offload: true });
    using plain = UdpSocket.bind("127.0.0.1:0");
    // Linux has had UDP_GRO and UDP_SEGMENT since 5.0; kqueue systems have neither.
    const expected = linux
      ? ({ state: "on" } as const)
      : ({ state: "off", reason: `not available on ${process.platform}` } as const);
    expect(asked.offload).toEqual(expected);
    expect(plain.offload).toEqual({ state: "off", reason: "not requested" });
  });

  test.skipIf(!linux)("refuses a batch whose slots cannot hold a coalesced entry", () => {
    using socket = UdpSocket.bind("127.0.0.1:0", { offload: true });
    expect(() => socket.tryRecvBatch(new DatagramBatch(4, 1500))).toThrow(
      "a batch with slots of 1500 bytes cannot receive on 127.0.0.1:",
    );
    expect(socket.tryRecvBatch(new DatagramBatch(1, Layout.coalescedMax))).toEqual({ state: "would-block" });
  });

  test("refuses to send a segmented entry on a socket without offload, saying why", () => {
    using socket = UdpSocket.bind("127.0.0.1:0");
    const batch = new DatagramBatch(1, 4096);
    setBurst(batch, 0, { segment: 100, count: 3, last: 100, port: socket.localAddress.port });
    expect(() => socket.trySendBatch(batch, 1)).toThrow(
      `a batch entry with a segment size cannot be sent on 127.0.0.1:${socket.localAddress.port}: offload is off (not requested)`,
    );
    expect(() => socket.sendBatch(batch, 1)).toThrow("offload is off (not requested)");
  });

  test.skipIf(!linux)("a single receive on a socket with offload says where a coalesced burst's datagrams end", () => {
    using receiver = UdpSocket.bind("127.0.0.1:0", { offload: true });
    using plain = UdpSocket.bind("127.0.0.1:0");
    using sender = UdpSocket.bind("127.0.0.1:0", { offload: true });
    const batch = new DatagramBatch(2, 4096);
    setBurst(batch, 0, { segment: 100, count: 6, last: 37, port: receiver.localAddress.port });
    setBurst(batch, 1, { segment: 100, count: 6, last: 37, port: plain.localAddress.port });
    expect(sender.trySendBatch(batch, 2)).toMatchObject({ state: "ok", value: { next: 2, datagrams: 12 } });
    const buffer = new Uint8Array(Layout.coalescedMax);
    const until = (socket: UdpSocket) => {
      const deadline = performance.now() + 2000;
      for (;;) {
        const result = socket.tryRecvFrom(buffer);
        if (result.state === "ok") return result.value;
        if (performance.now() > deadline) throw new Error("nothing arrived within 2 s");
      }
    };
    // With offload: the six datagrams in one receive, and their segment size.
    const burst = until(receiver);
    expect([burst.bytes.length, burst.segmentSize]).toEqual([537, 100]);
    // Without: one datagram per receive, its segment size its length.
    const first = until(plain);
    expect([first.bytes.length, first.segmentSize, first.bytes[0]]).toEqual([100, 100, 1]);
  });

  test.skipIf(!linux)("taking over a descriptor asks for offload again and learns that it is on", () => {
    const original = UdpSocket.bind("127.0.0.1:0", { offload: true });
    using taken = UdpSocket.fromDescriptor(original.release(), { offload: true });
    expect(taken.offload).toEqual({ state: "on" });
  });
});

describe("echo admission of bursts", () => {
  test("a burst from a refused port is dropped whole and counted per datagram", () => {
    const stats = new EchoStats();
    const batch = new DatagramBatch(2, Layout.coalescedMax);
    setBurst(batch, 0, { segment: 100, count: 16, last: 20, port: 53 });
    setBurst(batch, 1, { segment: 100, count: 3, last: 100, port: 5000 });
    expect(admit(batch, 2, policy({ stats }))).toBe(1);
    expect(batch.peerPort(0)).toBe(5000);
    expect(stats.get("datagramsIn")).toBe(19);
    expect(stats.get("bytesIn")).toBe(1520 + 300);
    expect(stats.get("droppedRefused")).toBe(16);
  });

  test("a rate limit that admits part of a burst keeps exactly that part, as one entry", () => {
    const stats = new EchoStats();
    const batch = new DatagramBatch(1, Layout.coalescedMax);
    // 10 per second: a new source has 10 tokens, so 10 of the 16 pass.
    setBurst(batch, 0, { segment: 100, count: 16, last: 40, port: 5000 });
    expect(admit(batch, 1, policy({ stats, rateLimiter: new RateLimiter(10) }))).toBe(1);
    expect(batch.datagramCount(0)).toBe(10);
    expect(batch.segmentSize(0)).toBe(100);
    expect(datagramsOf(batch, 0).map((datagram) => datagram[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(stats.get("datagramsIn")).toBe(16);
    expect(stats.get("droppedRateLimited")).toBe(6);
  });

  test("a rate limit that admits one datagram of a burst sends it plain", () => {
    const batch = new DatagramBatch(1, Layout.coalescedMax);
    setBurst(batch, 0, { segment: 100, count: 4, last: 100, port: 5000 });
    expect(admit(batch, 1, policy({ rateLimiter: new RateLimiter(1) }))).toBe(1);
    expect([batch.size(0), batch.datagramCount(0), batch.payload(0)[0]]).toEqual([100, 1, 1]);
  });

  test("--max-datagram applies to each datagram: only a burst's shorter last one may pass", () => {
    const stats = new EchoStats();
    const batch = new DatagramBatch(2, Layout.coalescedMax);
    setBurst(batch, 0, { segment: 150, count: 4, last: 80, port: 5000 });
    setBurst(batch, 1, { segment: 100, count: 16, last: 100, port: 5001 });
    expect(admit(batch, 2, policy({ stats, maxDatagram: 100 }))).toBe(2);
    // The first burst: three datagrams of 150 bytes dropped, the last of 80 kept, plain.
    expect(datagramsOf(batch, 0)).toEqual([new Array(80).fill(4)]);
    // The second: every datagram is 100 bytes, the limit, so the whole burst passes (1600
    // bytes in one entry, more than --max-datagram, which is per datagram).
    expect([batch.size(1), batch.datagramCount(1)]).toEqual([1600, 16]);
    expect(stats.get("droppedOversized")).toBe(3);
  });

  test.skipIf(!linux)("sending counts datagrams, not entries, and a refused entry counts each of its datagrams", () => {
    using server = UdpSocket.bind("127.0.0.1:0");
    using client = UdpSocket.bind("127.0.0.1:0", { offload: true });
    const stats = new EchoStats();
    const batch = new DatagramBatch(2, Layout.coalescedMax);
    setBurst(batch, 0, { segment: 100, count: 5, last: 50, port: server.localAddress.port });
    // An IPv6 peer for an IPv4 socket: the OS refuses this entry, all three of its datagrams.
    setBurst(batch, 1, { segment: 100, count: 3, last: 100, port: 9 });
    batch.set(1, batch.payload(1).slice(), { family: 6, host: "::1", port: 9, scopeId: 0 });
    batch.setSegmentSize(1, 100);
    expect(sendRange(client, batch, 0, 2, stats)).toMatchObject({ next: 2, stalled: false });
    expect(stats.get("datagramsOut")).toBe(5);
    expect(stats.get("bytesOut")).toBe(450);
    expect(stats.get("droppedSendError")).toBe(3);
  });

  test("a full reply queue drops its oldest burst and counts each of its datagrams", () => {
    const stats = new EchoStats();
    const queue = new ReplyQueue(2, Layout.coalescedMax, stats);
    const batch = new DatagramBatch(3, Layout.coalescedMax);
    setBurst(batch, 0, { segment: 10, count: 7, last: 10, port: 5000 });
    setBurst(batch, 1, { segment: 10, count: 2, last: 10, port: 5000 });
    batch.set(2, new Uint8Array(1), peer(5000));
    for (let index = 0; index < 3; index++) queue.push(batch, index);
    expect(stats.get("droppedOverload")).toBe(7);
    expect([queue.length, queue.datagrams]).toEqual([2, 3]);
  });
});
