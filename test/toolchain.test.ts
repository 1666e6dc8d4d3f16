// The pinned toolchain: scripts/zig runs the Zig version pinned in zig/build.zig.zon, or the
// compiler ZIG names if it is that same version.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const script = join(root, "scripts", "zig");
const pinned = /\.minimum_zig_version = "([^"]+)"/.exec(readFileSync(join(root, "zig", "build.zig.zon"), "utf8"))![1]!;

function zig(env: Record<string, string>, args: string[]): { exitCode: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync([script, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe("scripts/zig", () => {
  test("runs the pinned version, installed under .toolchain/", () => {
    const result = zig({}, ["version"]);
    expect(result.stdout.trim()).toBe(pinned);
    expect(existsSync(join(root, ".toolchain", `zig-${pinned}`))).toBe(true);
  });

  test("the README and docs/ name the pinned version wherever they name Zig's version", () => {
    const texts = ["README.md", ...new Bun.Glob("docs/*.md").scanSync(root)].map((path) =>
      readFileSync(join(root, path), "utf8"),
    );
    const named = texts.flatMap((text) => [...text.matchAll(/Zig (\d+\.\d+\.\d+)/g)].map((match) => match[1]));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((version) => version !== pinned)).toEqual([]);
  });

  test("honours ZIG when it names a compiler of the pinned version", () => {
    const installed = join(root, ".toolchain", `zig-${pinned}`, "ziglang", "zig");
    expect(zig({ ZIG: installed }, ["version"]).stdout.trim()).toBe(pinned);
  });

  test("refuses a ZIG of another version, and one that does not run", () => {
    const other = zig({ ZIG: "/bin/echo" }, ["version"]);
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain(`scripts/zig: ZIG=/bin/echo is Zig version, but this project pins Zig ${pinned}`);
    const missing = zig({ ZIG: "/nonexistent/zig" }, ["version"]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("scripts/zig: ZIG=/nonexistent/zig does not run");
  });
});
