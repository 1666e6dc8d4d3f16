/**
 * Where the console's server module is, to start a `Worker` of it (see
 * `runtime/drivers/locations.ts` for the one form `scripts/build.ts` rewrites in the compiled
 * executable).
 *
 * @module
 */

/**
 * The console's HTTP server module (`server.ts`), which runs on its own thread.
 *
 * @example
 * new Worker(CONSOLE_SERVER_URL, { workerData: data });
 */
export const CONSOLE_SERVER_URL: URL = new URL("./server.ts", import.meta.url);
