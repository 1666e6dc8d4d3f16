/**
 * Replies whose destination answered with an ICMP error: read from the socket's error queue
 * (`UdpSocket.tryRecvError`), counted as `unreachable` instead of sent, and remembered per
 * peer in a bounded table, so that the server can say at exit where they went without a line
 * per datagram and without memory that grows with the number of peers.
 *
 * @module
 */
import { formatSocketAddress, now, type SocketAddress, SystemError } from "../index.ts";
import type { EchoSocket } from "./echo.ts";
import { Counter, type EchoStats } from "./stats.ts";

/**
 * How many peers the table remembers. Once it is full, further errors are counted in the total
 * only (not even for peers already in the table): a flood of departures costs no allocation.
 */
export const PEERS_MAX = 1024;
/** How long after the last error the reader keeps draining before each receive. */
const ACTIVE_MS = 1000;
/**
 * How many errors one drain takes at most, as many as a receive takes datagrams: the reader
 * ends its poll after a full drain and takes the rest in the next. When a flood's clients left
 * together, the 256 replies they had in flight met an error each: drained in one go, that was
 * one poll of 1.07–1.15 ms of the thread's CPU (three runs, the bench's flood).
 */
export const DRAIN_MAX = 64;

/** The error queue of one echo socket, and what its errors say. */
export class UnreachablePeers {
  readonly #socket: EchoSocket;
  readonly #stats: EchoStats;
  /** Errors by peer (`"127.0.0.1:5000"`), at most {@link PEERS_MAX} peers. */
  readonly #byPeer = new Map<string, number>();
  /** Errors of peers beyond the table's bound, or whose entry the kernel could not queue. */
  #others = 0;
  /** When a drain last found errors (`now()`), or -Infinity. */
  #lastErrorAtMs = -Infinity;

  constructor(socket: EchoSocket, stats: EchoStats) {
    this.#socket = socket;
    this.#stats = stats;
  }

  /**
   * Takes the errors waiting in the queue, at most {@link DRAIN_MAX}. Each was a reply counted
   * as sent: it is counted as `unreachable` instead. `reported` says that a receive has just
   * failed with such an error: then at least one came, even if the kernel could not queue it
   * (the queue shares the receive buffer's memory). Returns how many were counted.
   */
  drain(reported = false): number {
    const counters = this.#stats.counters;
    let taken = 0;
    while (taken < DRAIN_MAX) {
      let error;
      try {
        error = this.#socket.tryRecvError!();
      } catch (failure) {
        // The kernel short of memory for a moment: the errors wait for the next drain.
        if (failure instanceof SystemError && (failure.code === "ENOBUFS" || failure.code === "ENOMEM")) break;
        throw failure;
      }
      if (error.state === "would-block") break;
      taken++;
      // A full table takes no new peer: their errors are counted without decoding the peer.
      if (this.#byPeer.size < PEERS_MAX) this.#remember(error.value.peer);
      else this.#others++;
    }
    if (taken === 0 && reported) {
      taken = 1;
      this.#others++;
    }
    if (taken > 0) this.#lastErrorAtMs = now();
    counters[Counter.droppedUnreachable]! += taken;
    counters[Counter.datagramsOut]! -= taken;
    return taken;
  }

  /**
   * Whether errors came within the last {@link ACTIVE_MS}: more are likely (clients are
   * leaving), so the reader drains before each receive, where a waiting error would otherwise
   * fail the receive, at the cost of an exception per error.
   */
  get active(): boolean {
    return now() - this.#lastErrorAtMs < ACTIVE_MS;
  }

  #remember(peer: SocketAddress): void {
    const key = formatSocketAddress(peer);
    const count = this.#byPeer.get(key);
    if (count !== undefined) this.#byPeer.set(key, count + 1);
    else if (this.#byPeer.size < PEERS_MAX) this.#byPeer.set(key, 1);
    else this.#others++;
  }

  /**
   * One line for the end of a run, or null if no reply met an error: how many, to how many
   * peers, and the peers that received most.
   */
  summary(): string | null {
    const total = [...this.#byPeer.values()].reduce((sum, count) => sum + count, this.#others);
    if (total === 0) return null;
    const top = [...this.#byPeer]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([peer, count]) => `${peer} (${count})`);
    const others = this.#others > 0 ? `, ${this.#others} to peers not kept` : "";
    return `unreachable: ${total} replies met an ICMP error, to ${this.#byPeer.size} peers; most to ${top.join(", ")}${others}`;
  }
}
