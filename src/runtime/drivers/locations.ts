/**
 * Where the reactor thread's module is, to start a `Worker` of it.
 *
 * Every `locations.ts` under `src/` (but `sys/`'s) names its worker modules only in the form
 * below, a URL of a `.ts` file beside it relative to the module's own: `scripts/build.ts` compiles
 * each such module into the echo executable as an entry point, and rewrites exactly that form
 * to point at it there (anything else in the file that reads the module's URL fails the build).
 *
 * @module
 */

/**
 * The reactor thread's module (`reactor-thread.ts`).
 *
 * @example
 * new Worker(REACTOR_THREAD_URL, { workerData: init });
 */
export const REACTOR_THREAD_URL: URL = new URL("./reactor-thread.ts", import.meta.url);
