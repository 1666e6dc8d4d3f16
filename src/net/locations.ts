/**
 * Where the resolver's worker module is, to start a `Worker` of it (see
 * `runtime/drivers/locations.ts` for the one form `scripts/build.ts` rewrites in the compiled
 * executable).
 *
 * @module
 */

/**
 * The resolver's module (`resolver-worker.ts`), which looks host names up off the runtime's thread.
 *
 * @example
 * new Worker(RESOLVER_WORKER_URL);
 */
export const RESOLVER_WORKER_URL: URL = new URL("./resolver-worker.ts", import.meta.url);
