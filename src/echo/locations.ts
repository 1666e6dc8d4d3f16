/**
 * Where the echo's worker module is, to start a `Worker` of it (see `runtime/drivers/locations.ts`
 * for the one form `scripts/build.ts` rewrites in the compiled executable).
 *
 * @module
 */

/**
 * The echo worker's module (`worker.ts`): one socket of `--workers N`.
 *
 * @example
 * new Worker(ECHO_WORKER_URL, { workerData: data });
 */
export const ECHO_WORKER_URL: URL = new URL("./worker.ts", import.meta.url);
