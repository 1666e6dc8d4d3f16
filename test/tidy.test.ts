// What can be checked mechanically about the code base: the house style's rules.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { USAGE } from "../src/echo/config.ts";

const root = join(import.meta.dir, "..");
const sources = [...new Bun.Glob("src/**/*.ts").scanSync(root)].sort();
const read = (path: string) => readFileSync(join(root, path), "utf8");
const docs = ["README.md", ...[...new Bun.Glob("docs/*.md").scanSync(root)].sort()];

/** Markdown without its fenced code blocks and inline code spans: what links and headings are read from. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^]*?^```/gm, "").replace(/`[^`\n]*`/g, (span) => span.replace(/[[\]()]/g, ""));
}

/** The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const [, heading] of markdown.replace(/^```[^]*?^```/gm, "").matchAll(/^#{1,6} (.+)$/gm)) {
    const base = heading!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  return found;
}

/**
 * The relative links of the Markdown file at `path` (its text is `markdown`) whose file, or whose
 * heading in a Markdown file, does not exist.
 */
function brokenLinks(path: string, markdown: string, readFile: (path: string) => string | null): string[] {
  const broken: string[] = [];
  for (const [, target] of prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z][a-z+.-]*:/i.test(target!)) continue; // https:, mailto:: not a file of the repository
    const [file, anchor] = target!.split("#", 2) as [string, string | undefined];
    const resolved = file === "" ? path : join(dirname(path), decodeURIComponent(file));
    if (file !== "" && (resolved.startsWith("..") || !existsSync(join(root, resolved)))) {
      broken.push(`${path}: ${target} (no file ${resolved})`);
      continue;
    }
    if (anchor === undefined || !resolved.endsWith(".md")) continue;
    const text = resolved === path ? markdown : readFile(resolved);
    if (text !== null && !anchors(text).has(anchor)) broken.push(`${path}: ${target} (no heading #${anchor} in ${resolved})`);
  }
  return broken;
}

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

  test("no file in src/ is over 500 lines: past that, a module is split at its seams", () => {
    const long = sources.flatMap((path) => {
      const lines = read(path).split("\n").length - 1;
      return lines > 500 ? [`${path} (${lines} lines)`] : [];
    });
    expect(long).toEqual([]);
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

  test("the echo uses no @internal member", () => {
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

  test("the GitHub Actions workflow runs the README's test command on Linux x64 and arm64 (through .ci/run) and macOS", () => {
    const command = /<!-- test-command -->\s*```sh\n(.+)\n```/.exec(read("README.md"))?.[1];
    const workflow = read(".github/workflows/ci.yml");
    const runners = [...workflow.matchAll(/^\s+(?:runner|runs-on): (\S+)$/gm)].map((match) => match[1]);
    expect(runners).toEqual(expect.arrayContaining(["ubuntu-24.04", "ubuntu-24.04-arm", "macos-15"]));
    expect(workflow).toMatch(/^\s+run: bash \.ci\/run$/m);
    expect(workflow.split("\n").map((line) => line.trim())).toContain(`run: ${command}`);
  });

  test("docs/cli.md's command line lists exactly the options udp-echo --help prints", () => {
    const listed = /## The command line\n\n```text\nudp-echo \[options\]\n([\s\S]*?)```/.exec(read("docs/cli.md"))?.[1];
    const printed = /\nOptions:\n([\s\S]*?\n)\n/.exec(USAGE)?.[1];
    expect(printed).toBeDefined();
    expect(listed).toBe(printed);
  });

  test("the README fits on a page: at most 150 lines, the rest in docs/", () => {
    expect(read("README.md").split("\n").length - 1).toBeLessThanOrEqual(150);
  });

  test("every relative link in the README and docs/*.md points to a file, and heading, that exists", () => {
    expect(docs).toContain("docs/architecture.md");
    const readFile = (path: string) => (existsSync(join(root, path)) ? read(path) : null);
    expect(docs.flatMap((path) => brokenLinks(path, read(path), readFile))).toEqual([]);
  });

  test("the link check reports a missing file and a missing heading, and passes good links", () => {
    const readFile = (path: string) => (existsSync(join(root, path)) ? read(path) : null);
    const markdown = [
      "# Title",
      "[good](cli.md) [good heading](cli.md#the-command-line) [here](#title) [web](https://bun.sh)",
      "[gone](no-such-file.md) [no heading](cli.md#no-such-heading) `[code](not-a-link.md)`",
      "```md\n[fenced](not-a-link-either.md)\n```",
    ].join("\n");
    expect(brokenLinks("docs/example.md", markdown, readFile)).toEqual([
      "docs/example.md: no-such-file.md (no file docs/no-such-file.md)",
      "docs/example.md: cli.md#no-such-heading (no heading #no-such-heading in docs/cli.md)",
    ]);
  });
});
