/**
 * The warm-up before the ready line: the echo service runs on a loopback socket of its own, fed
 * by a client of its own on the same runtime, until JavaScriptCore has compiled its hot path;
 * only then does udp-echo say it is ready. A client's datagrams never go
 * through it: the warm-up's sockets are its own, on another port, closed when it ends. Not when
 * socket activation started the server: its first client's datagram is already waiting.
 *
 * Why: without it, the first second after the ready line is when the JIT compiles the hot path
 * (measured with `BUN_JSC_reportCompileTimes=1`: 62 DFG and 14 FTL compiles, 61 ms of compiler
 * time, between 35 ms and 0.7 s after the ready line), on a compiler thread that takes the
 * server's core from the echo (`bun run bench` pins the server to one core), and that first
 * second held most of udp-echo's RTT stalls.
 *
 * @module
 */
import { type Async, now, spawn, TimeoutError, timeout, UdpSocket, warmUpTimers } from "../index.ts";
import type { EchoConfig } from "./config.ts";
import { policyFor, serveEcho } from "./service.ts";
import { EchoStats } from "./stats.ts";

/**
 * Echoes the warm-up makes before it ends. With 20,000, the JIT compiled as much after the ready
 * line as with 40,000 (3 DFG and 5 FTL compiles, about 10 ms of compiler time); with 10,000,
 * 25 FTL compiles (118 ms) were still to come.
 */
export const WARM_UP_ECHOES = 20_000;
/** The longest the warm-up may delay the ready line, echoes made or not (a loaded machine). */
export const WARM_UP_MS_MAX = 1_000;
/** Every this many echoes, the client sends a burst instead of one datagram. */
const BURST_EVERY = 256;
/** Datagrams of a burst: the receive and send of many at once are part of the hot path too. */
const BURST_DATAGRAMS = 32;
/** How long the client waits for an echo before it counts it lost and goes on. */
const REPLY_WAIT_MS = 100;

/** What a warm-up did. */
export interface WarmUpReport {
  echoes: number;
  lost: number;
  /** How long it took, in milliseconds. */
  ms: number;
}

/**
 * Runs the echo service of `config` on a loopback socket of its own (the loopback address of
 * the configured host's family, offload as configured, no rate limit: the warm-up's client is
 * one source sending as fast as it can) until {@link WARM_UP_ECHOES} echoes or
 * {@link WARM_UP_MS_MAX}, then stops it and closes both sockets.
 *
 * @example
 * ```ts
 * const report = runtime.blockOn(warmUp(config), { name: "warm-up" });
 * console.log(`warmed up with ${report.echoes} echoes in ${report.ms.toFixed(0)} ms`);
 * ```
 */
export function* warmUp(config: EchoConfig): Async<WarmUpReport> {
  const host = config.host.includes(":") ? "::1" : "127.0.0.1";
  using server = UdpSocket.bind({ host, port: 0 }, { offload: config.offload === "auto" });
  using client = UdpSocket.bind({ host, port: 0 });
  const report: WarmUpReport = { echoes: 0, lost: 0, ms: 0 };
  const started = now();
  // First the timer wheel, on a clock of its own: the paths the real clock reaches only after
  // seconds or years, compiled now with the echo's (see the runtime's timer-warm-up.ts).
  warmUpTimers();
  const policy = policyFor({ ...config, rateLimit: null }, new EchoStats(), server.offload.state === "on");
  const traffic = spawn(drive(client, server, report), { name: "warm-up client" });
  yield* serveEcho(server, policy, { stop: traffic, report: () => {}, sampleSeconds: null });
  report.ms = now() - started;
  return report;
}

/** The warm-up's client: datagrams of 64 and 1400 bytes, one at a time, now and then a burst. */
function* drive(client: UdpSocket, server: UdpSocket, report: WarmUpReport): Async<void> {
  const payloads = [new Uint8Array(64).fill(1), new Uint8Array(1400).fill(2)];
  const buffer = new Uint8Array(2048);
  const to = server.localAddress;
  const started = now();
  let round = 0;
  while (report.echoes < WARM_UP_ECHOES && now() - started < WARM_UP_MS_MAX) {
    const count = ++round % BURST_EVERY === 0 ? BURST_DATAGRAMS : 1;
    for (let index = 0; index < count; index++) yield* client.sendTo(payloads[(round + index) % 2]!, to);
    for (let index = 0; index < count; index++) {
      try {
        yield* timeout(client.recvFrom(buffer), REPLY_WAIT_MS);
        report.echoes++;
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        report.lost += count - index;
        break;
      }
    }
  }
}
