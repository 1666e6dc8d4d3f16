// What can be checked mechanically about the code base: the house style's rules.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { USAGE } from "../src/echo/config.ts";

const root = join(import.meta.dir, "..");
const sources = [...new Bun.Glob("src/**/*.ts").scanSync(root)].sort();
const read = (path: string) => readFileSync(join(root, path), "utf8");

describe("tidy", () => {
  test("exactly one module imports bun:ffi", () => {
    const importers = sources.filter((path) => /from "bun:ffi"/.test(read(path)));
    expect(importers).toEqual(["src/sys/ffi.ts"]);
  });

  test("every export in src/ has a JSDoc comment", () => {
    const missing: string[] = [];
    for (const path of sources) {
      const lines = read(path).split("\n");
      lines.forEach((line, index) => {
        if (!/^export (default |declare )?(abstract class|class|function\*?|const|let|interface|type|enum) [A-Za-z_]/.test(line))
          return;
        const above = lines[index - 1]?.trim() ?? "";
        if (!above.endsWith("*/")) missing.push(`${path}:${index + 1}: ${line.slice(0, 80)}`);
      });
    }
    expect(missing).toEqual([]);
  });

  test("lines are at most 140 characters", () => {
    const files = [...sources, ...new Bun.Glob("{test,scripts,bench,examples}/**/*.ts").scanSync(root)];
    const long = files.flatMap((path) =>
      read(path)
        .split("\n")
        .flatMap((line, index) =>
          line.length > 140 ? [`${relative(root, join(root, path))}:${index + 1} (${line.length})`] : [],
        ),
    );
    expect(long).toEqual([]);
  });

  test("the echo is written against the public API: its imports, and no @internal member", () => {
    // The package's two entries, its own modules, Node's, and where the compiled executable
    // finds its worker modules. Never sys/udp.ts, sys/abi.ts, sys/ffi.ts or runtime/ directly.
    const allowed =
      /^(\.\.\/(index|internals)\.ts|\.\/[a-z-]+\.ts|node:[a-z_]+|\.\.\/\.\.\/package\.json|\.\.\/sys\/locations\.ts)$/;
    const internal = new Set(
      sources
        .filter((path) => !path.startsWith("src/echo/"))
        .flatMap((path) => [
          ...read(path).matchAll(/\/\*\* @internal[^]*?\*\/\s*\n\s*(?:static\s+)?(?:get\s+)?([A-Za-z]\w*)\s*\(/g),
        ])
        .map((match) => match[1]!),
    );
    expect(internal).toContain("registration");
    const found: string[] = [];
    for (const path of sources.filter((source) => source.startsWith("src/echo/"))) {
      const text = read(path);
      for (const [, module] of text.matchAll(/from "([^"]+)"/g))
        if (!allowed.test(module!)) found.push(`${path}: imports ${module}`);
      for (const name of internal) if (new RegExp(`\\.${name}\\(`).test(text)) found.push(`${path}: uses @internal ${name}()`);
    }
    expect(found).toEqual([]);
  });

  test(".ci/run runs exactly the README's quick-start test command", () => {
    const readme = read("README.md");
    const command = /<!-- test-command -->\s*```sh\n(.+)\n```/.exec(readme)?.[1];
    expect(command).toBeDefined();
    const ci = read(".ci/run");
    expect(ci.split("\n")).toContain(command!);
  });

  test("the README's command line lists exactly the options udp-echo --help prints", () => {
    const listed = /## The command line\n\n```text\nudp-echo \[options\]\n([\s\S]*?)```/.exec(read("README.md"))?.[1];
    const printed = /\nOptions:\n([\s\S]*?\n)\n/.exec(USAGE)?.[1];
    expect(printed).toBeDefined();
    expect(listed).toBe(printed);
  });
});
