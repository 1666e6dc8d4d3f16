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
import {
  type Async,
  isWildcardHost,
  now,
  type Runtime,
  type SocketAddress,
  spawn,
  TimeoutError,
  timeout,
  type TraceHook,
  UdpSocket,
  warmUpTimers,
} from "../index.ts";
import type { EchoConfig } from "./config.ts";
import { listenersFor, serveEcho } from "./service.ts";
import { Counter, EchoStats, STATS_BYTES } from "./stats.ts";

/**
 * Echoes the warm-up makes before it ends, in all its rounds. One round of 20,000 left 14–18
 * DFG/FTL compiles for the 5 s after the ready line (73–97 ms of compiler thread); two of
 * 10,000, 9–27; two of 20,000, 4–7 (28–35 ms), all of functions crossing a tier's threshold of
 * calls (`BUN_JSC_reportCompileTimes=1`, one datagram in flight, three runs each, 2026-12-05,
 * a shared machine).
 */
export const WARM_UP_ECHOES = 40_000;
/**
 * Rounds of the warm-up, each with new sockets, a new policy and new stats. JavaScriptCore
 * treats a closure's scope that has been made only once as constant, and compiles its values
 * into the code; the service's own scope, the second, then threw away the compiled reader,
 * writer and executor pass (`UncountableInvalidation`), which were compiled again after the
 * ready line. Made twice before, the third is no news.
 */
export const WARM_UP_ROUNDS = 2;
/**
 * The longest the warm-up may delay the ready line, echoes made or not (a loaded machine). The
 * 40,000 echoes took about 0.85 s to the ready line at load 2.5 (0.6 s with 20,000 before); 2 s
 * let tests that start servers run past bun test's 5 s per test on a loaded machine, with no
 * fewer compiles after the ready line (4–6 with either).
 */
export const WARM_UP_MS_MAX = 1_000;
/** Every this many echoes, the client sends a burst instead of one datagram. */
const BURST_EVERY = 256;
/** Datagrams of a burst: the receive and send of many at once are part of the hot path too. */
const BURST_DATAGRAMS = 32;
/**
 * In the first round, every this many rounds of the client, a client of a burst's size departs:
 * it sends and closes its socket before the echoes come, which then meet an ICMP error, read from
 * the server's error queue. Clients leave under every flood (and `bun run bench` starts its
 * measured window just after one left); the first departures a server met after its ready line
 * took 1.3–15 ms of the thread's CPU in one poll of the reader (the receive's exception, the
 * error queue's drain and the table of peers, all run for the first time), 0.1–0.3 ms once
 * compiled. Not in the last round: after an error the reader drains the queue before each receive
 * for a second, which the service's reader, with no client gone yet, does not; departures in
 * every round left the code compiled for that, and the RTT tail from the ready line on worse
 * (p99.99 1.19× at 64 B, the median of five interleaved rounds against departures in none).
 */
const DEPART_EVERY = 1024;
/** How long the client waits for an echo before it counts it lost and goes on. */
const REPLY_WAIT_MS = 100;

/** What a warm-up did. */
export interface WarmUpReport {
  echoes: number;
  lost: number;
  /** Echoes to the clients that departed that met an ICMP error, read from the error queue. */
  unreachable: number;
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
  const report: WarmUpReport = { echoes: 0, lost: 0, unreachable: 0, ms: 0 };
  const started = now();
  // First the timer wheel, on a clock of its own: the paths the real clock reaches only after
  // seconds or years, compiled now with the echo's (see the runtime's timer-warm-up.ts).
  warmUpTimers();
  for (let round = 1; round <= WARM_UP_ROUNDS; round++) {
    const echoes = (WARM_UP_ECHOES * round) / WARM_UP_ROUNDS;
    yield* warmUpRound(config, report, { echoes, startedAt: started, departures: round === 1 });
  }
  report.ms = now() - started;
  return report;
}

/**
 * The warm-up, on the runtime as it will serve: its trace hook and turn observer stay the same
 * functions, so that the executor's code that calls them is compiled as it will run, not thrown
 * away at the first event after the ready line (with the hook set aside, the console's first
 * polls recompiled the executor's hot path under the first flood: 16 FTL compiles, 160 ms of a
 * compiler thread on the server's core). What the hook feeds shows the service's own steps from
 * its first, not the warm-up's: `--trace` and `--trace-file` drop the warm-up's events
 * (`quiet`), and what counts them with the code it will count the service's with (the console,
 * `--metrics`' runtime figures) forgets them.
 *
 * @example
 * ```ts
 * const quiet = { on: false };
 * const runtime = new Runtime({ trace: unlessQuiet(printer.hook, quiet) });
 * const liveConsole = serveConsole(runtime, { port: 0 });
 * warmUpQuietly(runtime, config, quiet, [liveConsole]); // then serve
 * ```
 */
export function warmUpQuietly(
  runtime: Runtime,
  config: EchoConfig,
  quiet: { on: boolean },
  counters: readonly ({ forget(): void } | null)[],
): void {
  quiet.on = true;
  try {
    runtime.blockOn(warmUp(config), { name: "warm-up" });
  } finally {
    quiet.on = false;
    for (const counter of counters) counter?.forget();
  }
}

/**
 * `hook`, with its events dropped while `quiet.on` (during the warm-up).
 *
 * @example
 * ```ts
 * const runtime = new Runtime({ trace: unlessQuiet(new TracePrinter(out).hook, quiet) });
 * ```
 */
export function unlessQuiet(hook: TraceHook | undefined, quiet: { readonly on: boolean }): TraceHook | undefined {
  return hook === undefined
    ? undefined
    : (event) => {
        if (!quiet.on) hook(event);
      };
}

/** Where the warm-up stops: at `echoes` echoes in all, or {@link WARM_UP_MS_MAX} after `startedAt` ({@link now}). */
interface WarmUpLimit {
  readonly echoes: number;
  readonly startedAt: number;
  /** Whether clients depart in this round (see {@link DEPART_EVERY}). */
  readonly departures: boolean;
}

/**
 * One round: the echo service on new sockets, with new policies and stats of the kinds the
 * service's are (shared memory), until `until.echoes` in all or {@link WARM_UP_MS_MAX} since
 * `until.startedAt`. On a wildcard address the service serves sockets of both kinds, those on
 * one address and the wildcard one that reads each datagram's destination: so does the round,
 * its client sending to each in turn.
 */
function* warmUpRound(config: EchoConfig, report: WarmUpReport, until: WarmUpLimit): Async<void> {
  const host = config.host.includes(":") ? "::1" : "127.0.0.1";
  const offload = config.offload === "auto";
  using servers = new DisposableStack();
  const kinds = isWildcardHost(config.host) ? [false, true] : [false];
  const sockets = kinds.map((receiveDestination) =>
    servers.use(UdpSocket.bind({ host, port: 0 }, { offload, receiveDestination })),
  );
  using client = UdpSocket.bind({ host, port: 0 });
  const stats = new EchoStats({ buffer: new SharedArrayBuffer(STATS_BYTES), byteOffset: 0 });
  const listeners = listenersFor({ ...config, rateLimit: null }, stats, sockets);
  const targets = sockets.map((socket) => socket.localAddress);
  const traffic = spawn(drive(client, targets, report, until), { name: "warm-up client" });
  yield* serveEcho(listeners, { stop: traffic, report: () => {}, sampleSeconds: null });
  report.unreachable += stats.counters[Counter.droppedUnreachable]!;
}

/** A client that sends {@link BURST_DATAGRAMS} datagrams to `to` and closes before their echoes come. */
function depart(to: SocketAddress, payload: Uint8Array): void {
  using leaving = UdpSocket.bind({ host: to.host, port: 0 });
  for (let index = 0; index < BURST_DATAGRAMS; index++) {
    if (leaving.trySendTo(payload, to).state === "would-block") break;
  }
}

/**
 * The warm-up's client: datagrams of 64 and 1400 bytes, one at a time, now and then a burst, to
 * each of `targets` in turn.
 */
function* drive(client: UdpSocket, targets: readonly SocketAddress[], report: WarmUpReport, until: WarmUpLimit): Async<void> {
  const payloads = [new Uint8Array(64).fill(1), new Uint8Array(1400).fill(2)];
  const buffer = new Uint8Array(2048);
  let round = 0;
  while (report.echoes < until.echoes && now() - until.startedAt < WARM_UP_MS_MAX) {
    const to = targets[round % targets.length]!;
    const count = ++round % BURST_EVERY === 0 ? BURST_DATAGRAMS : 1;
    if (until.departures && round % DEPART_EVERY === 0) depart(to, payloads[0]!);
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
