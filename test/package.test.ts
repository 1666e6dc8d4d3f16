// The package as users get it: `npm pack`, installed into a fresh project, imported by name.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");

function sh(command: string[], cwd: string): string {
  const result = Bun.spawnSync(command, {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, npm_config_loglevel: "error" },
  });
  if (result.exitCode !== 0)
    throw new Error(`${command.join(" ")} failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout.toString();
}

test("the package from npm pack, installed into a fresh project, ships every platform's library, imports and echoes", () => {
  const dir = mkdtempSync(join(tmpdir(), "bun-reactor-package-"));
  try {
    // npm pack runs the prepack script: the library for this machine and the cross-builds.
    const tarball = sh(["npm", "pack", "--pack-destination", dir, "--silent"], root).trim().split("\n").at(-1)!;
    const contents = sh(["tar", "-tzf", join(dir, tarball)], dir).split("\n");
    for (const platform of [
      "linux-x64/libbun_reactor.so",
      "linux-arm64/libbun_reactor.so",
      "darwin-x64/libbun_reactor.dylib",
      "darwin-arm64/libbun_reactor.dylib",
    ]) {
      expect(contents).toContain(`package/zig/zig-out/lib/${platform}`);
    }
    expect(contents).toContain("package/src/index.ts");
    // The README links into docs/, and the docs link to the dated figures.
    expect(contents).toContain("package/docs/architecture.md");
    expect(contents).toContain("package/bench/RESULTS.md");
    expect(contents.some((path) => path.startsWith("package/test/"))).toBe(false);

    const project = join(dir, "consumer");
    sh(["mkdir", project], dir);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    sh(["npm", "install", "--no-audit", "--no-fund", "--offline", join(dir, tarball)], project);
    writeFileSync(
      join(project, "main.ts"),
      [
        'import { Runtime, UdpSocket, spawn, timeout, type Async } from "bun-reactor";',
        "function* main(): Async<string> {",
        '  using server = UdpSocket.bind("127.0.0.1:0");',
        "  spawn(function* (): Async<void> {",
        "    const { bytes, peer } = yield* server.recvFrom(new Uint8Array(100));",
        "    yield* server.sendTo(bytes, peer);",
        "  }());",
        '  using client = UdpSocket.bind("127.0.0.1:0");',
        '  yield* client.sendTo(new TextEncoder().encode("hello from a consumer"), server.localAddress);',
        "  const { bytes } = yield* timeout(client.recvFrom(new Uint8Array(100)), 2000);",
        "  return new TextDecoder().decode(bytes);",
        "}",
        "using runtime = new Runtime();",
        "console.log(runtime.blockOn(main()));",
      ].join("\n"),
    );
    expect(sh([process.execPath, "main.ts"], project)).toBe("hello from a consumer\n");

    // For each of `names`: [name, whether the main entry exports it, whether `entry` does].
    const exportedBy = (entry: string, names: string[]): unknown => {
      writeFileSync(
        join(project, "entries.ts"),
        [
          'import * as app from "bun-reactor";',
          `import * as other from ${JSON.stringify(entry)};`,
          `const names = ${JSON.stringify(names)};`,
          "console.log(JSON.stringify(names.map((name) => [name, name in app, name in other])));",
        ].join("\n"),
      );
      return JSON.parse(sh([process.execPath, "entries.ts"], project));
    };

    // The runtime's machinery is in the second entry, not the first.
    expect(
      exportedBy("bun-reactor/internals", ["Executor", "Reactor", "Registration", "TimerQueue", "IoFuture", "WOULD_BLOCK"]),
    ).toEqual([
      ["Executor", false, true],
      ["Reactor", false, true],
      ["Registration", false, true],
      ["TimerQueue", false, true],
      ["IoFuture", false, true],
      ["WOULD_BLOCK", false, true],
    ]);

    // The console is its own entry, bun-reactor/console: the main entry has none of it.
    expect(exportedBy("bun-reactor/console", ["serveConsole", "TraceFile", "TRACE_FILE_MAX_EVENTS"])).toEqual([
      ["serveConsole", false, true],
      ["TraceFile", false, true],
      ["TRACE_FILE_MAX_EVENTS", false, true],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
