/**
 * bun-reactor's console entry, `bun-reactor/console`: a live view of a runtime in the browser
 * (`serveConsole`, an HTTP server on a thread of its own) and its trace as a file Perfetto opens
 * (`TraceFile`). Its own entry so that an app that imports only the runtime (`bun-reactor`)
 * loads no HTTP server and starts no console thread.
 *
 * @example
 * ```ts
 * import { Runtime } from "bun-reactor";
 * import { serveConsole } from "bun-reactor/console";
 *
 * using runtime = new Runtime();
 * using console = serveConsole(runtime, { port: 0 });
 * process.stderr.write(`console: ${console.url}\n`);
 * runtime.blockOn(main());
 * ```
 *
 * @module
 */
export { type ConsoleHandle, type ConsoleOptions, serveConsole } from "./console.ts";
export { TRACE_FILE_MAX_EVENTS, TraceFile, type TraceFileOptions } from "./trace-file.ts";
