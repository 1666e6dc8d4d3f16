// The examples the README and docs/guide.md show a reader first: each is run as written, in a
// subprocess (it goes through FFI), importing the package by its name, and must print what its
// last comment says it prints. An example that drifts from the API fails here.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runProcess } from "./helpers.ts";

const root = join(import.meta.dir, "..");
// Inside the repository, so that `import … from "bun-reactor"` resolves to this package itself.
const artifacts = join(import.meta.dir, "artifacts");

/** The first ```ts block after `heading` in the Markdown file at `path`. */
function example(path: string, heading: string): string {
  const text = `\n${readFileSync(join(root, path), "utf8")}`;
  const at = text.indexOf(`\n${heading}\n`);
  expect(at).toBeGreaterThanOrEqual(0);
  const code = /```ts\n([^]*?)```/.exec(text.slice(at))?.[1];
  expect(code).toBeDefined();
  return code!;
}

describe("documentation examples", () => {
  test.each([
    ["README.md", "## As a library"],
    ["docs/guide.md", "# Using the runtime"],
  ])("%s (%s) runs and prints what its last comment says", async (path, heading) => {
    const code = example(path, heading);
    const promised = /\/\/ "([^"]*)"\s*$/.exec(code.trimEnd())?.[1];
    expect(promised).toBeDefined();
    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, `example-${process.pid}-${path.replace(/\W/g, "-")}.ts`);
    writeFileSync(file, code);
    try {
      const result = await runProcess([process.execPath, file], { timeoutMs: 30_000 });
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe(`${promised}\n`);
      expect(result.exitCode).toBe(0);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
