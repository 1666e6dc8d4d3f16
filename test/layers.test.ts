// The layers, bottom up: sys (the system calls and the library) ← runtime ← net; above them the
// package's entries (src/index.ts, src/internals.ts, src/console/index.ts), which the console
// and the echo use as any app would. Each rule is checked on every import of every module.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, posix, relative, resolve, sep } from "node:path";

const root = join(import.meta.dir, "..");
const src = join(root, "src");
/** Every module under src/, by its path under src/. */
const modules = [...new Bun.Glob("**/*.ts").scanSync(src)].sort();
const read = (module: string) => readFileSync(join(src, module), "utf8");

/** `module`'s code without its comment lines (whose examples import as an app would). */
const code = (module: string) =>
  read(module)
    .split("\n")
    .filter((line) => !/^\s*(\*|\/\*|\/\/)/.test(line))
    .join("\n");

/** What `module` imports (static, side-effect and dynamic imports, and re-exports), resolved to paths under src/. */
function importsOf(module: string): string[] {
  return [...code(module).matchAll(/(?:^|[^.\w])(?:from|import)\s*\(?\s*"([^"]+)"/gm)].map(([, specifier]) =>
    specifier!.startsWith(".") ? posix.normalize(posix.join(posix.dirname(module), specifier!)) : specifier!,
  );
}

const ENTRIES = ["index.ts", "internals.ts"];

/**
 * For each layer (a folder of src/): what its modules may import besides Node's and Bun's
 * built-in modules, as paths under src/ (a trailing `/` is a whole folder).
 */
const LAYERS: Record<string, { may: string[]; why: string }> = {
  sys: { may: ["sys/"], why: "the bottom layer: it imports, and names, nothing above it" },
  runtime: { may: ["sys/", "runtime/"], why: "the runtime is built on sys alone" },
  net: { may: ["sys/", "runtime/", "net/"], why: "sockets are built on sys and the runtime" },
  "server-thread": { may: ["server-thread/"], why: "serving from a thread of its own needs nothing of the runtime" },
  console: {
    may: [...ENTRIES, "console/", "server-thread/"],
    why: "the console is an entry of its own on top of the package's, served from a thread of its own",
  },
  metrics: {
    may: [...ENTRIES, "metrics/", "server-thread/"],
    why: "the metrics are an entry of their own on top of the package's, served from a thread of its own",
  },
  echo: {
    may: [...ENTRIES, "console/index.ts", "metrics/index.ts", "echo/", "../package.json"],
    why: "the echo uses only the package's entries, as any app would",
  },
};

/** The imports of `layer`'s modules that its rule does not allow, as `module: imports target`. */
function breaches(layer: string): string[] {
  const { may } = LAYERS[layer]!;
  return modules
    .filter((module) => module.startsWith(`${layer}/`))
    .flatMap((module) =>
      importsOf(module)
        .filter((target) => !/^(node|bun):/.test(target))
        .filter((target) => !may.some((allowed) => (allowed.endsWith("/") ? target.startsWith(allowed) : target === allowed)))
        .map((target) => `src/${module}: imports ${target}`),
    );
}

describe("layers", () => {
  test("every folder of src/ has a layer rule", () => {
    const folders = new Set(modules.filter((module) => module.includes("/")).map((module) => module.split("/")[0]!));
    expect([...folders].sort()).toEqual(Object.keys(LAYERS).sort());
  });

  for (const [layer, { why }] of Object.entries(LAYERS)) {
    test(`src/${layer} imports only what its layer may (${why})`, () => {
      expect(breaches(layer)).toEqual([]);
    });
  }

  test("src/sys names no module of a layer above it, not even in a string", () => {
    const named = modules
      .filter((module) => module.startsWith("sys/"))
      .flatMap((module) =>
        [...read(module).matchAll(/["'`/](?:\.\.\/)*((?:runtime|net|echo|console)\/[\w/.-]*)/g)].map(
          ([, name]) => `src/${module}: ${name}`,
        ),
      );
    expect(named).toEqual([]);
  });

  test("the package's entries import nothing of the console, the metrics or the echo", () => {
    const found = ENTRIES.flatMap((entry) =>
      importsOf(entry)
        .filter((target) => /^(echo|console|metrics)\//.test(target))
        .map((target) => `src/${entry}: imports ${target}`),
    );
    expect(found).toEqual([]);
  });

  test("the main entry's module graph reaches no console or metrics module, starts no server thread, serves no HTTP", async () => {
    // Bun's bundler walks every import from src/index.ts, as `import "bun-reactor"` would load them.
    const result = await Bun.build({ entrypoints: [join(src, "index.ts")], target: "bun", metafile: true });
    expect(result.success).toBe(true);
    // The metafile names its inputs relative to the working directory.
    const loaded = Object.keys(result.metafile!.inputs).map((input) => relative(src, resolve(input)).split(sep).join("/"));
    expect(loaded).toContain("runtime/runtime.ts");
    expect(loaded.filter((module) => /^(console|metrics)\//.test(module))).toEqual([]);
    // A worker module is started by URL, not imported: the locations in the graph name them all.
    const locations = loaded.filter((module) => module.endsWith("locations.ts")).sort();
    expect(locations).toEqual(["net/locations.ts", "runtime/drivers/locations.ts", "sys/locations.ts"]);
    expect(loaded.filter((module) => /\bBun\.serve\(/.test(read(module)))).toEqual([]);
    expect(modules.filter((module) => /\bBun\.serve\(/.test(read(module)))).not.toEqual([]);
  });
});
