// The socket's error queue (Linux IP_RECVERR): an ICMP error for a datagram sent to a closed
// port is read back with the destination it names, once, and never mistaken for a datagram.
import { describe, expect, test } from "bun:test";
import { DatagramBatch } from "../src/net/datagram-batch.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";

/** Tries `attempt` until it gives a value, for at most 10 s (generous: the machine may be loaded). */
async function eventually<T>(attempt: () => T | null): Promise<T> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const value = attempt();
    if (value !== null) return value;
    if (performance.now() > deadline) throw new Error("nothing came within 10 s");
    await Bun.sleep(2);
  }
}

describe.skipIf(process.platform !== "linux").each([
  ["IPv4", "127.0.0.1:0"],
  ["IPv6", "[::1]:0"],
])("the error queue over %s", (_name, address) => {
  test("a datagram to a closed port comes back as ECONNREFUSED naming that port", async () => {
    using server = UdpSocket.bind(address);
    expect(server.enableErrorQueue()).toBe(true);
    // Nothing was sent yet: the queue is empty.
    expect(server.tryRecvError().state).toBe("would-block");

    // A client that has left: its port is closed when the reply comes.
    const client = UdpSocket.bind(address);
    const departed = client.localAddress;
    client.close();
    server.trySendTo(new TextEncoder().encode("reply"), departed);

    const error = await eventually(() => {
      const result = server.tryRecvError();
      return result.state === "ok" ? result.value : null;
    });
    expect(error.code).toBe("ECONNREFUSED");
    expect(error.peer).toEqual(departed);
    // Read once: neither the queue nor a receive reports it again, and it is no datagram.
    expect(server.tryRecvError().state).toBe("would-block");
    expect(server.tryRecvFrom(new Uint8Array(64)).state).toBe("would-block");
  });

  test("a departed client's error does not refuse the next datagram, to a live peer: it is sent, and the error stays queued", () => {
    const payload = new TextEncoder().encode("for the live one");
    for (const send of ["trySendTo", "trySendBatch"] as const) {
      using server = UdpSocket.bind(address);
      using live = UdpSocket.bind(address);
      server.enableErrorQueue();
      const client = UdpSocket.bind(address);
      const departed = client.localAddress;
      client.close();
      // On loopback the ICMP error comes back during this send, and waits on the socket for
      // whichever call comes next: it was refused for the next datagram, to a peer that is there.
      server.trySendTo(new TextEncoder().encode("reply"), departed);
      if (send === "trySendTo") {
        expect(server.trySendTo(payload, live.localAddress)).toEqual({ state: "ok", value: payload.length });
      } else {
        const batch = new DatagramBatch(1, 64);
        batch.set(0, payload, live.localAddress);
        expect(server.trySendBatch(batch, 1)).toMatchObject({ state: "ok", value: { sent: 1, refused: 0 } });
      }
      const received = live.tryRecvFrom(new Uint8Array(64));
      expect(received.state === "ok" && new TextDecoder().decode(received.value.bytes)).toBe("for the live one");
      const error = server.tryRecvError();
      expect(error.state === "ok" && error.value.code).toBe("ECONNREFUSED");
    }
  });
});
