/**
 * Where the native library is when bun-reactor runs from its sources: built by `zig build` into
 * `zig/zig-out/lib/<platform>/` (or shipped prebuilt there in the npm package).
 *
 * `scripts/build.ts` replaces this module, when it compiles the echo executable, with one that
 * embeds the library (`import … with { type: "file" }`). The modules that run on worker threads
 * are found by the layers that own them, each in its own `locations.ts`.
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
