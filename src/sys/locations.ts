/**
 * Where bun-reactor's files are when it runs from its sources: the native library, built by
 * `zig build` into `zig/zig-out/lib/<platform>/` (or shipped prebuilt there in the npm
 * package), and the modules that run on worker threads.
 *
 * `scripts/build.ts` replaces this module, when it compiles the echo executable, with one that
 * embeds the library (`import … with { type: "file" }`) and points at the worker modules
 * compiled into the executable.
 *
 * @module
 */
import { join } from "node:path";

const suffix = process.platform === "darwin" ? "dylib" : "so";

/** The absolute path of the native library; the environment variable `BUN_REACTOR_LIB` overrides it. */
export const libraryPath: string =
  process.env.BUN_REACTOR_LIB ??
  join(import.meta.dir, "..", "..", "zig", "zig-out", "lib", `${process.platform}-${process.arch}`, `libbun_reactor.${suffix}`);

/**
 * Whether the library is embedded in a compiled executable (`$bunfs`), rather than a file on
 * disk: only then may it be loaded from memory when extracting it fails.
 *
 * @example
 * if (libraryEmbedded) console.log("running from the compiled udp-echo");
 */
export const libraryEmbedded: boolean = false;

/** The modules that run on worker threads, by their path under `src/` without extension. */
export type WorkerModule =
  "runtime/drivers/reactor-thread" | "echo/worker" | "console/server" | "net/resolver-worker" | "metrics/server";

/** The URL to start a `Worker` of `module` with. */
export function workerModuleUrl(module: WorkerModule): URL {
  return new URL(`../${module}.ts`, import.meta.url);
}
