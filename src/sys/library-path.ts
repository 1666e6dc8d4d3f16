/**
 * Where the native library is when bun-reactor runs from its sources: built by `zig build` into
 * `zig/zig-out/lib/<platform>/`, or shipped prebuilt there in the npm package. The environment
 * variable `BUN_REACTOR_LIB` names another file instead.
 *
 * `scripts/build.ts` replaces this module, when it compiles the echo executable, with one that
 * embeds the library in the executable (`import … with { type: "file" }`).
 *
 * @module
 */
import { join } from "node:path";

const suffix = process.platform === "darwin" ? "dylib" : "so";

/** The absolute path of the native library for this platform. */
export const libraryPath: string =
  process.env.BUN_REACTOR_LIB ??
  join(import.meta.dir, "..", "..", "zig", "zig-out", "lib", `${process.platform}-${process.arch}`, `libbun_reactor.${suffix}`);
