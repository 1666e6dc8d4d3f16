/**
 * Serving HTTP from a thread of its own, as the console and the metrics do: the runtime's thread
 * may be blocked in the poller (the inline driver) or busy with a flood, so their `Bun.serve`
 * runs on a `Worker`. This is the handshake both sides share: the starting thread waits, at most
 * {@link SERVER_START_MS}, for the server thread to say through shared memory that it listens
 * (and on which port) or why it could not.
 *
 * @module
 */
import { Worker } from "node:worker_threads";

/** How long the starting thread waits for the server thread to listen or fail. */
export const SERVER_START_MS = 5000;

/** The words of the status: [0] the state, [1] the port, [2] an error's length in bytes from `MESSAGE_OFFSET`. */
const State = { starting: 0, listening: 1, failed: 2 } as const;
const MESSAGE_OFFSET = 16;
const STATUS_BYTES = MESSAGE_OFFSET + 1024;

/** What every server thread is started with, beside its own data: where it reports. */
export interface ServerThreadData {
  readonly status: SharedArrayBuffer;
}

/**
 * Starts the server thread `url` with `data` and waits until it listens: returns the worker
 * (unreferenced, so that it never keeps the process alive) and the port. Throws an error that
 * names `what` and `where` (e.g. `Cannot serve the console on 127.0.0.1:80: …`) if it failed or
 * did not answer in time; the worker is then terminated.
 *
 * @example
 * ```ts
 * const { port } = startServerThread(SERVER_URL, { host, port: 0 }, "the metrics", `${host}:0`);
 * ```
 */
export function startServerThread<T extends object>(
  url: URL,
  data: T,
  what: string,
  where: string,
): { worker: Worker; port: number } {
  const status = new SharedArrayBuffer(STATUS_BYTES);
  const worker = new Worker(url, { workerData: { ...data, status } satisfies T & ServerThreadData });
  const words = new Int32Array(status, 0, 3);
  Atomics.wait(words, 0, State.starting, SERVER_START_MS);
  const state = Atomics.load(words, 0);
  if (state === State.listening) {
    worker.unref();
    return { worker, port: words[1]! };
  }
  void worker.terminate();
  if (state === State.starting) throw new Error(`Cannot serve ${what}: its server did not start within ${SERVER_START_MS} ms`);
  const message = new TextDecoder().decode(new Uint8Array(status, MESSAGE_OFFSET, words[2]!));
  throw new Error(`Cannot serve ${what} on ${where}: ${message}`);
}

/**
 * On the server thread: calls `listen` (which starts the server and returns its port) and tells
 * the starting thread how it went, the port or the error's message.
 *
 * @example
 * ```ts
 * reportListening(workerData.status, () => Bun.serve({ hostname, port, fetch }).port ?? 0);
 * ```
 */
export function reportListening(status: SharedArrayBuffer, listen: () => number): void {
  const words = new Int32Array(status, 0, 3);
  try {
    words[1] = listen();
    Atomics.store(words, 0, State.listening);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const message = new TextEncoder().encode(text).subarray(0, STATUS_BYTES - MESSAGE_OFFSET);
    new Uint8Array(status, MESSAGE_OFFSET).set(message);
    words[2] = message.length;
    Atomics.store(words, 0, State.failed);
  }
  Atomics.notify(words, 0);
}
