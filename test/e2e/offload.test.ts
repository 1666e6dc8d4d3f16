// End-to-end with UDP GRO/GSO: the compiled executable echoing clients that send bursts of
// datagrams in one system call (as QUIC stacks do), checked datagram by datagram, boundaries
// included, against what each client sent. Linux only: elsewhere there is no such offload.
import { beforeAll, describe, expect, test } from "bun:test";
import { DatagramBatch } from "../../src/net/datagram-batch.ts";
import { UdpSocket } from "../../src/net/udp-socket.ts";
import { REFUSED_PORTS } from "../../src/echo/guard.ts";
import { Layout } from "../../src/sys/abi.ts";
import { SystemError } from "../../src/sys/errors.ts";
import { ensureBuilt, type RunningServer, startServer } from "./server.ts";

const linux = process.platform === "linux";

beforeAll(async () => {
  await ensureBuilt();
});

/** A burst to send as one entry: datagrams of `segment` bytes, the last `last` bytes. */
interface Burst {
  readonly segment: number;
  readonly count: number;
  readonly last: number;
}

/** A client socket and what it sent, datagram by datagram, in order. */
class Client {
  readonly socket: UdpSocket;
  readonly sent: Uint8Array[] = [];
  readonly #number: number;
  #sequence = 0;

  constructor(host: string, offload: boolean, number: number, port = 0) {
    this.socket = UdpSocket.bind({ host, port }, { offload, recvBufferBytes: 1 << 20 });
    this.#number = number;
  }

  [Symbol.dispose](): void {
    this.socket.close();
  }

  /** A datagram no other (client, sequence) pair has: its bytes name both. */
  #datagram(size: number): Uint8Array {
    const sequence = this.#sequence++;
    return new Uint8Array(size).map((_, index) => (index * 7 + sequence * 13 + this.#number * 29) & 0xff);
  }

  /** Sends `burst` as one segmented entry (or one plain datagram if it is a single one). */
  sendBurst(burst: Burst, to: { host: string; port: number }): void {
    const datagrams = Array.from({ length: burst.count }, (_, index) =>
      this.#datagram(index === burst.count - 1 ? burst.last : burst.segment),
    );
    const bytes = new Uint8Array(datagrams.reduce((sum, datagram) => sum + datagram.byteLength, 0));
    datagrams.reduce((offset, datagram) => (bytes.set(datagram, offset), offset + datagram.byteLength), 0);
    const batch = new DatagramBatch(1, Layout.coalescedMax);
    batch.set(0, bytes, { family: this.socket.family, host: to.host, port: to.port, scopeId: 0 });
    if (burst.count > 1) batch.setSegmentSize(0, burst.segment);
    sendAll(this.socket, batch);
    this.sent.push(...datagrams);
  }

  /**
   * Receives until `expected` datagrams came back (or 10 s pass), then for `tailMs` more to
   * catch any that should not have; returns them all.
   */
  receiveEchoes(expected = this.sent.length, tailMs = 100): Uint8Array[] {
    const batch = new DatagramBatch(16, Layout.coalescedMax);
    const echoes: Uint8Array[] = [];
    let deadline = performance.now() + 10_000;
    for (;;) {
      if (echoes.length >= expected) deadline = Math.min(deadline, performance.now() + tailMs);
      if (performance.now() > deadline) break;
      const received = this.socket.tryRecvBatch(batch);
      if (received.state === "would-block") {
        Bun.sleepSync(1);
        continue;
      }
      for (let entry = 0; entry < received.value; entry++) {
        for (let index = 0; index < batch.datagramCount(entry); index++) echoes.push(batch.datagram(entry, index).slice());
      }
    }
    return echoes;
  }
}

function sendAll(socket: UdpSocket, batch: DatagramBatch): void {
  const deadline = performance.now() + 10_000;
  while (socket.trySendBatch(batch, 1).state === "would-block") {
    if (performance.now() > deadline) throw new Error("the socket did not take the burst within 10 s");
    Bun.sleepSync(1);
  }
}

const BURSTS: Burst[] = [
  { segment: 1200, count: 16, last: 1200 },
  { segment: 1200, count: 5, last: 300 },
  { segment: 64, count: 16, last: 1 },
  { segment: 100, count: 2, last: 99 },
  { segment: 9000, count: 7, last: 1 },
];

describe.skipIf(!linux).each([
  ["IPv4", "127.0.0.1"],
  ["IPv6", "::1"],
])("udp-echo with offload over %s", (_name, host) => {
  async function echoed(server: RunningServer, offload: boolean): Promise<{ sent: Uint8Array[]; echoes: Uint8Array[] }> {
    using client = new Client(host, true, 1);
    for (const burst of BURSTS) client.sendBurst(burst, { host, port: server.port });
    const echoes = client.receiveEchoes();
    client.socket.close();
    const { stdout } = await server.stop("SIGTERM");
    const datagrams = client.sent.length;
    const bytes = client.sent.reduce((sum, datagram) => sum + datagram.byteLength, 0);
    // The totals count datagrams, not bursts, whether or not the server coalesced them.
    expect(stdout).toContain(`totals: in ${datagrams} datagrams ${bytes} bytes, out ${datagrams} datagrams ${bytes} bytes`);
    expect(stdout).toContain(offload ? "offload on)" : "offload off: --offload off)");
    return { sent: client.sent, echoes };
  }

  test("bursts whose last datagram is shorter come back exactly, datagram by datagram", async () => {
    await using server = await startServer(["--host", host, "--port", "0"]);
    const { sent, echoes } = await echoed(server, true);
    expect(echoes.length).toBe(sent.length);
    expect(echoes).toEqual(sent);
  });

  test("with --offload off the same bursts come back as the same bytes and boundaries", async () => {
    await using server = await startServer(["--host", host, "--port", "0", "--offload", "off"]);
    const { sent, echoes } = await echoed(server, false);
    expect(echoes).toEqual(sent);
  });

  test("bursts and single datagrams from many clients at once each come back to their sender", async () => {
    await using server = await startServer(["--host", host, "--port", "0"]);
    // 24 clients: even ones send bursts (with offload), odd ones plain datagrams, all before
    // any echo is read, so that the server meets them interleaved.
    const clients = Array.from({ length: 24 }, (_, number) => new Client(host, number % 2 === 0, number));
    try {
      for (let round = 0; round < 4; round++) {
        for (const [number, client] of clients.entries()) {
          const burst =
            number % 2 === 0 ? BURSTS[(number / 2 + round) % BURSTS.length]! : { segment: 0, count: 1, last: 50 + round };
          client.sendBurst(burst, { host, port: server.port });
        }
      }
      for (const client of clients) expect(client.receiveEchoes(client.sent.length, 10)).toEqual(client.sent);
    } finally {
      for (const client of clients) client.socket.close();
    }
  });
});

describe.skipIf(!linux)("udp-echo applies its checks to each datagram of a burst", () => {
  test("a rate limit that admits part of a burst echoes exactly that part", async () => {
    // --rate-limit 10: a new source may send 10 datagrams at once (one second's worth).
    await using server = await startServer(["--port", "0", "--rate-limit", "10"]);
    using client = new Client("127.0.0.1", true, 7);
    client.sendBurst({ segment: 100, count: 16, last: 40 }, { host: "127.0.0.1", port: server.port });
    const echoes = client.receiveEchoes(10);
    expect(echoes).toEqual(client.sent.slice(0, 10));
    const { stdout } = await server.stop("SIGTERM");
    expect(stdout).toContain("totals: in 16 datagrams 1540 bytes, out 10 datagrams 1000 bytes");
    expect(stdout).toContain("rate-limited 6");
  });

  test("--max-datagram applies to each datagram: a burst of small ones passes whole", async () => {
    await using server = await startServer(["--port", "0", "--max-datagram", "200"]);
    using client = new Client("127.0.0.1", true, 8);
    client.sendBurst({ segment: 200, count: 16, last: 10 }, { host: "127.0.0.1", port: server.port });
    client.sendBurst({ segment: 300, count: 3, last: 150 }, { host: "127.0.0.1", port: server.port });
    const echoes = client.receiveEchoes(17);
    // The first burst whole (each datagram is 200 bytes or less), and of the second only its
    // last datagram, the one of 150 bytes.
    expect(echoes).toEqual([...client.sent.slice(0, 16), client.sent[18]!]);
    const { stdout } = await server.stop("SIGTERM");
    expect(stdout).toContain("drops oversized 2,");
  });

  test("a burst from a refused port is dropped whole, and counted datagram by datagram", async () => {
    await using server = await startServer(["--port", "0"]);
    // A client on a port the reflection guard refuses (above 1024, so that binding needs no
    // privilege; the first of them that is free here).
    const ports = REFUSED_PORTS.filter((port) => port > 1024);
    let client: Client | null = null;
    for (const port of ports) {
      try {
        client = new Client("127.0.0.1", true, 10, port);
        break;
      } catch (error) {
        if (!(error instanceof SystemError && error.code === "EADDRINUSE")) throw error;
      }
    }
    if (client === null) throw new Error(`every refused port above 1024 is in use here: ${ports.join(", ")}`);
    using refused = client;
    refused.sendBurst({ segment: 100, count: 16, last: 30 }, { host: "127.0.0.1", port: server.port });
    // A datagram from an ordinary client, sent after the burst, comes back: by then the server
    // has met the burst (one receive queue, in order of arrival).
    using ordinary = new Client("127.0.0.1", false, 11);
    ordinary.sendBurst({ segment: 0, count: 1, last: 10 }, { host: "127.0.0.1", port: server.port });
    expect(ordinary.receiveEchoes()).toEqual(ordinary.sent);
    expect(refused.receiveEchoes(0, 100)).toEqual([]);
    const { stdout } = await server.stop("SIGTERM");
    expect(stdout).toContain("totals: in 17 datagrams 1540 bytes, out 1 datagrams 10 bytes");
    expect(stdout).toContain("refused 16,");
  });

  test("--workers 2 echoes bursts too: each worker's socket has offload on", async () => {
    await using server = await startServer(["--port", "0", "--workers", "2"]);
    expect(server.readyLine).toEndWith("2 workers, offload on)");
    using client = new Client("127.0.0.1", true, 9);
    for (const burst of BURSTS) client.sendBurst(burst, { host: "127.0.0.1", port: server.port });
    expect(client.receiveEchoes()).toEqual(client.sent);
  });
});
