/**
 * The live console: a page in the browser that shows a runtime working (the 11 steps with their
 * rates, the tasks, the reactor's registrations, the timers, the app's counters and warnings),
 * updated four times a second.
 *
 * The page is served by a thread of its own (see `server.ts`); the runtime's thread only
 * builds a snapshot every `intervalMs`, in a task named `console publisher`, and posts it
 * there. The trace hook the console adds counts events and times polls.
 *
 * @module
 */
import type { Worker } from "node:worker_threads";
import { type Async, combineHooks, isLoopbackHost, now, type Runtime, RuntimeError, sleep, type TraceHook } from "../index.ts";
import { CONSOLE_SERVER_URL } from "./locations.ts";
import { startServerThread } from "../server-thread/handshake.ts";
import type { ConsoleServerData } from "./protocol.ts";
import { type ConsoleSnapshot, takeSnapshot } from "./snapshot.ts";
import { ActivityTracker } from "./tracker.ts";

/** Options of {@link serveConsole}. */
export interface ConsoleOptions {
  /** TCP port, 0 to 65535 (0 picks a free one: read it from `ConsoleHandle.url`). */
  readonly port: number;
  /** The address to listen on (default 127.0.0.1). Another than loopback prints a warning. */
  readonly host?: string;
  /** How many pages may watch at once (1 to 64, default 8); one more is refused with 503. */
  readonly maxViewers?: number;
  /** Milliseconds between snapshots (100 to 500, default 250: four a second). */
  readonly intervalMs?: number;
  /** The app's counters, charted over the last minute (names starting with `dropped` are drops). */
  readonly metrics?: () => Readonly<Record<string, number>>;
  /** Where the non-loopback warning goes (default: stderr). */
  readonly warn?: (line: string) => void;
}

/** A console being served. */
export interface ConsoleHandle {
  /** The page's address, e.g. `http://127.0.0.1:9100/`. */
  readonly url: string;
  /**
   * Starts the console's counts anew, as if it had been opened now: the steps' rates, each task's
   * polls, wakes, times and warnings go back to zero, and finished tasks are dropped. The hook
   * stays as it is, so the code that runs it stays compiled: udp-echo opens its console before
   * its warm-up, which then runs with the hook it will run with, and calls this once warm.
   */
  forget(): void;
  /** Stops serving: the publisher task is cancelled, the server thread ends, the hook is removed. */
  close(): void;
  [Symbol.dispose](): void;
}

/** Seconds of app counters kept for the chart. */
const HISTORY_SECONDS = 60;

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} ${value} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

/** One sample a second of the app's counters, turned into rates per second. */
class MetricsHistory {
  readonly #read: () => Readonly<Record<string, number>>;
  readonly samples: { readonly t: number; readonly rates: Record<string, number> }[] = [];
  #before: { at: number; values: Readonly<Record<string, number>> } | null = null;

  constructor(read: () => Readonly<Record<string, number>>) {
    this.#read = read;
  }

  /** Reads the counters; adds a sample if a second has passed. Returns the counters. */
  update(at: number): Readonly<Record<string, number>> {
    const values = { ...this.#read() };
    const before = this.#before;
    if (before === null) this.#before = { at, values };
    else if (at - before.at >= 1000) {
      const seconds = (at - before.at) / 1000;
      const rates: Record<string, number> = {};
      for (const [name, value] of Object.entries(values)) rates[name] = (value - (before.values[name] ?? 0)) / seconds;
      this.samples.push({ t: Date.now(), rates });
      if (this.samples.length > HISTORY_SECONDS) this.samples.shift();
      this.#before = { at, values };
    }
    return values;
  }
}

function startServer(data: Omit<ConsoleServerData, "status">): { worker: Worker; port: number } {
  return startServerThread(CONSOLE_SERVER_URL, data, "the console", `${data.host}:${data.port}`);
}

function* publish(
  runtime: Runtime,
  tracker: ActivityTracker,
  history: MetricsHistory | null,
  post: (snapshot: ConsoleSnapshot & { history: MetricsHistory["samples"] }) => void,
  intervalMs: number,
): Async<never> {
  for (;;) {
    const metrics = history?.update(now()) ?? null;
    post({ ...takeSnapshot(runtime, tracker, metrics), history: history?.samples ?? [] });
    yield* sleep(intervalMs);
  }
}

/**
 * Serves the live console of `runtime` on `options.port`: open the printed URL in a browser.
 * Call it on the runtime's thread, before or while the runtime runs; the console shows what
 * happens from then on. While it is open, the runtime has one more task (`console publisher`),
 * so `Runtime.run()` returns only once the console is closed.
 *
 * @example
 * ```ts
 * using runtime = new Runtime();
 * using console = serveConsole(runtime, { port: 9100 });
 * process.stderr.write(`console: ${console.url}\n`);
 * runtime.blockOn(main());
 * ```
 */
export function serveConsole(runtime: Runtime, options: ConsoleOptions): ConsoleHandle {
  // Refused before the server thread starts: it would otherwise keep listening, with no task to feed it.
  if (runtime.closed) throw new RuntimeError("Cannot serve the console: the runtime is closed");
  const host = options.host ?? "127.0.0.1";
  const loopback = isLoopbackHost(host); // (an AddressError for a host that is not an address)
  const port = checkRange("console port", options.port, 0, 65535);
  const maxViewers = checkRange("maxViewers", options.maxViewers ?? 8, 1, 64);
  const intervalMs = checkRange("intervalMs", options.intervalMs ?? 250, 100, 500);
  // Only for a console that is about to listen: a refused option says so alone.
  if (!loopback) {
    (options.warn ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `bun-reactor: warning: the console listens on ${host}, not on loopback: anyone who can reach it sees the runtime's tasks and sockets`,
    );
  }
  const { worker, port: boundPort } = startServer({ host, port, maxViewers });
  const tracker = new ActivityTracker();
  const previous = runtime.trace;
  const hook: TraceHook = combineHooks(previous, tracker.hook)!;
  runtime.trace = hook;
  const history = options.metrics === undefined ? null : new MetricsHistory(options.metrics);
  const post = (snapshot: object): void => worker.postMessage(JSON.stringify(snapshot));
  const publisher = runtime.spawn(publish(runtime, tracker, history, post, intervalMs), { name: "console publisher" });
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${boundPort}/`;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    publisher.cancel();
    if (runtime.trace === hook) runtime.trace = previous;
    void worker.terminate();
  };
  return { url, forget: () => tracker.forget(), close, [Symbol.dispose]: close };
}
