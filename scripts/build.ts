/**
 * Builds bun-reactor: the Zig library for this machine, then `dist/udp-echo`, one executable
 * that embeds the library and runs from any directory.
 *
 * Usage: `bun scripts/build.ts [--native-only]`
 *
 * @module
 */
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const zig = join(root, "scripts", "zig");
const suffix = process.platform === "darwin" ? "dylib" : "so";

/** The library `zig build` installs for this machine. */
export const nativeLibrary = join(
  root,
  "zig",
  "zig-out",
  "lib",
  `${process.platform}-${process.arch}`,
  `libbun_reactor.${suffix}`,
);

/** The same library built with `-Dfault-injection` (for `npm run chaos` and the fault tests). */
export const faultLibrary = join(
  root,
  "zig",
  "zig-out",
  "fault",
  "lib",
  `${process.platform}-${process.arch}`,
  `libbun_reactor.${suffix}`,
);

/** The echo server executable. */
export const executable = join(root, "dist", "udp-echo");

/** Runs a command in `cwd`, with its output passed through; throws if it fails. */
export function run(command: string[], cwd: string = root): void {
  const result = Bun.spawnSync(command, { cwd, stdio: ["ignore", "inherit", "inherit"] });
  if (result.exitCode !== 0) throw new Error(`\`${command.join(" ")}\` failed with exit code ${result.exitCode}`);
}

/** Builds the library (incremental: quick when nothing changed). */
export function buildNative(): void {
  run([zig, "build", "--summary", "none"], join(root, "zig"));
}

/**
 * Compiles the echo server into one executable. The module that finds the native library is
 * replaced by one that embeds it (`with { type: "file" }`), and the modules of the worker
 * threads (echo workers, the reactor thread, the console's server, whose page is a string in
 * its module, the resolver of host names, the metrics' server) are compiled in as more entry
 * points, so that they work from the executable.
 */
export async function buildExecutable(): Promise<void> {
  const result = await Bun.build({
    entrypoints: [
      join(root, "src", "echo", "main.ts"),
      join(root, "src", "echo", "worker.ts"),
      join(root, "src", "runtime", "drivers", "reactor-thread.ts"),
      join(root, "src", "console", "server.ts"),
      join(root, "src", "net", "resolver-worker.ts"),
      join(root, "src", "metrics", "server.ts"),
    ],
    compile: { outfile: executable },
    // Names are kept: traces name the futures a task awaits by their class.
    minify: { whitespace: true, syntax: true, identifiers: false },
    sourcemap: "none",
    plugins: [
      {
        name: "embed-native-library",
        setup(build) {
          build.onLoad({ filter: /[\\/]sys[\\/]locations\.ts$/ }, () => ({
            loader: "ts",
            contents: [
              `import path from ${JSON.stringify(nativeLibrary)} with { type: "file" };`,
              "export const libraryPath: string = path;",
              "export const libraryEmbedded: boolean = true;",
              // Entry points are laid out under $bunfs/root/ by their path under src/.
              "export function workerModuleUrl(module: string): URL { return new URL(`file:///$bunfs/root/${module}.js`); }",
            ].join("\n"),
          }));
        },
      },
    ],
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error("bun build --compile of the echo server failed");
  }
}

if (import.meta.main) {
  buildNative();
  if (!process.argv.includes("--native-only")) await buildExecutable();
}
