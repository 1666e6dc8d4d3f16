/**
 * Builds bun-reactor: the Zig library for this machine, then `dist/udp-echo`, one executable
 * that embeds the library and runs from any directory.
 *
 * Usage: `bun scripts/build.ts [--native-only]`
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

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

/** Where {@link buildExecutable} takes the library from and writes the executable to. */
export interface ExecutableOptions {
  /** The native library to embed (default: {@link nativeLibrary}). */
  readonly library?: string;
  /** The executable to write (default: {@link executable}). */
  readonly outfile?: string;
}

/** `src/`, whose layout the executable's entry points keep under `$bunfs/root/`. */
const sources = join(root, "src");

/**
 * The one form in which a layer's `locations.ts` names a module that runs on a worker thread:
 * `new URL("./name.ts", import.meta.url)`, beside it.
 */
const WORKER_URL = /new URL\("\.\/([a-z-]+)\.ts", import\.meta\.url\)/g;

/** The `locations.ts` of every layer but `sys/` (whose module is replaced whole), under `src/`. */
function layerLocations(): string[] {
  return [...new Bun.Glob("**/locations.ts").scanSync(sources)].filter((path) => path !== "sys/locations.ts").sort();
}

/** The worker modules the layers' `locations.ts` name, by their path under `src/` without extension. */
export function workerModules(): string[] {
  return layerLocations().flatMap((path) =>
    [...readFileSync(join(sources, path), "utf8").matchAll(WORKER_URL)].map((match) => `${dirname(path)}/${match[1]}`),
  );
}

/**
 * A layer's `locations.ts` for the executable: each worker module's URL is its compiled entry
 * point's, `$bunfs/root/` plus its path under `src/`. Anything else that reads `import.meta.url`
 * there would point into the executable, not at the sources: refused, naming the file.
 */
function compiledLocations(path: string): string {
  const dir = relative(sources, dirname(path)).split(sep).join("/");
  const contents = readFileSync(path, "utf8").replace(
    WORKER_URL,
    (_, name: string) => `new URL(${JSON.stringify(`file:///$bunfs/root/${dir}/${name}.js`)})`,
  );
  if (contents.includes("import.meta")) {
    throw new Error(`${path}: import.meta outside the form new URL("./name.ts", import.meta.url), which the build rewrites`);
  }
  return contents;
}

/**
 * Compiles the echo server into one executable. The module that finds the native library
 * (`sys/locations.ts`) is replaced by one that embeds it (`with { type: "file" }`); the modules
 * of the worker threads that the layers' own `locations.ts` name (echo workers, the reactor
 * thread, the console's server, whose page is a string in its module, the resolver of host
 * names, the metrics' server) are compiled in as more entry points, and those `locations.ts`
 * rewritten to point at them, so that they work from the executable.
 */
export async function buildExecutable(options: ExecutableOptions = {}): Promise<void> {
  const library = options.library ?? nativeLibrary;
  const locations = new Set(layerLocations().map((path) => join(sources, path)));
  const result = await Bun.build({
    entrypoints: [join(sources, "echo", "main.ts"), ...workerModules().map((module) => join(sources, `${module}.ts`))],
    compile: { outfile: options.outfile ?? executable },
    // Names are kept: traces name the futures a task awaits by their class.
    minify: { whitespace: true, syntax: true, identifiers: false },
    sourcemap: "none",
    plugins: [
      {
        name: "embed-native-library",
        setup(build) {
          build.onLoad({ filter: /[\\/]locations\.ts$/ }, (args) => {
            if (args.path === join(sources, "sys", "locations.ts")) {
              return {
                loader: "ts",
                contents: [
                  `import path from ${JSON.stringify(library)} with { type: "file" };`,
                  "export const libraryPath: string = path;",
                  "export const libraryEmbedded: boolean = true;",
                ].join("\n"),
              };
            }
            if (!locations.has(args.path)) throw new Error(`${args.path}: a locations.ts outside src/`);
            return { loader: "ts", contents: compiledLocations(args.path) };
          });
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
