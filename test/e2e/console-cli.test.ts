// `udp-echo --console` and `--trace-file` from the command line, on the compiled executable:
// their values checked, a host that is not loopback warned about, a port in use refused, and
// the trace file written at exit.
import { describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Counter } from "../../src/echo/stats.ts";
import { runServer, startServer } from "./server.ts";

describe("udp-echo --console and --trace-file", () => {
  test.each([
    [["--console", "web"], 'invalid value for --console: "web" is not PORT, HOST:PORT or [IPV6]:PORT'],
    [["--console", "70000"], 'invalid value for --console: "70000" is not a whole number from 0 to 65535'],
    [["--console", "localhost:9100"], 'invalid value for --console: "localhost" is not an IPv4 or IPv6 address'],
    [["--console"], "option --console needs a value"],
    [["--trace-file="], "invalid value for --trace-file: the file name is empty"],
    [["--workers", "2", "--console", "0"], "--console shows one runtime: use it with --workers 1 (not 2)"],
    [["--workers", "2", "--trace-file", "t.json"], "--trace-file shows one runtime: use it with --workers 1 (not 2)"],
  ])("%p → exit 2", async (args, message) => {
    const { exitCode, stdout, stderr } = await runServer(args);
    expect(exitCode).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(`udp-echo: ${message}\nTry 'udp-echo --help' for the options.\n`);
  });

  test("a console host that is not loopback is warned about; one it cannot bind ends the server with status 1", async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: the warning, then the bind fails.
    const { exitCode, stdout, stderr } = await runServer(["--port", "0", "--console", "192.0.2.1:0"]);
    expect(exitCode).toBe(1);
    expect(stdout).toBe("");
    const warning =
      "the console listens on 192.0.2.1, not on loopback: anyone who can reach it sees the runtime's tasks and sockets";
    expect(stderr).toStartWith(`udp-echo: warning: ${warning}\nudp-echo: Cannot serve the console on 192.0.2.1:0: `);
  });

  test("a console port in use ends the server with status 1 and says why", async () => {
    await using first = await startServer(["--port", "0", "--console", "0"]);
    const taken = /^console: http:\/\/127\.0\.0\.1:(\d+)\/$/m.exec(first.stdout())![1]!;
    // With --trace-file too: the file made for the run is not left behind, empty.
    const path = join(tmpdir(), `udp-echo-unserved-${process.pid}.json`);
    const { exitCode, stderr } = await runServer(["--port", "0", "--console", taken, "--trace-file", path]);
    expect(exitCode).toBe(1);
    expect(stderr).toStartWith(`udp-echo: Cannot serve the console on 127.0.0.1:${taken}: `);
    expect(existsSync(path)).toBe(false);
  });

  test("the console charts every counter of traffic and every drop by its reason", async () => {
    await using server = await startServer(["--port", "0", "--console", "0"]);
    const url = /^console: (\S+)$/m.exec(server.stdout())![1]!;
    let metrics: Record<string, number> | null = null;
    for (let attempt = 0; attempt < 50 && metrics === null; attempt++) {
      metrics = ((await (await fetch(`${url}snapshot`)).json()) as { metrics: Record<string, number> } | null)?.metrics ?? null;
      if (metrics === null) await Bun.sleep(100);
    }
    const expected = Object.keys(Counter).filter((name) => /^(dropped|datagrams|bytes)/.test(name));
    expect(Object.keys(metrics ?? {}).sort()).toEqual(expected.sort());
    expect(expected).toContain("droppedByKernel");
  });

  test("the console counts from the service's first step: the warm-up ran under its hook, then was forgotten", async () => {
    await using server = await startServer(["--port", "0", "--console", "0"]);
    const url = /^console: (\S+)$/m.exec(server.stdout())![1]!;
    const readyAt = Date.now();
    type View = { at: number; steps: number[]; tasks: { name: string }[] };
    const read = async (): Promise<View | null> => (await (await fetch(`${url}snapshot`)).json()) as View | null;
    let view = await read();
    for (let attempt = 0; attempt < 50 && (view === null || view.at <= readyAt); attempt++) {
      await Bun.sleep(100);
      view = await read();
    }
    // The warm-up's 40,000 echoes took tens of thousands of polls (step 2, 3) and spawned its
    // tasks (step 1); an idle service since has polled a few dozen times at most.
    expect(view!.steps[1]! + view!.steps[2]! + view!.steps[3]!).toBeLessThan(1_000);
    expect(view!.tasks.map((task) => task.name).filter((name) => name.startsWith("warm-up"))).toEqual([]);
  });

  test("a trace file that cannot be written ends the server before it starts, in one line", async () => {
    const path = join(tmpdir(), `udp-echo-no-such-directory-${process.pid}`, "trace.json");
    const { exitCode, stdout, stderr } = await runServer(["--port", "0", "--trace-file", path]);
    expect(exitCode).toBe(1);
    expect(stdout).toBe(""); // no ready line: it never served
    expect(stderr).toBe(`udp-echo: Cannot write the trace file ${path}: no such file or directory (ENOENT)\n`);
  });

  test("--trace-file writes the trace at exit and says where", async () => {
    const path = join(tmpdir(), `udp-echo-trace-${process.pid}.json`);
    try {
      await using server = await startServer(["--port", "0", "--trace-file", path]);
      const client = createSocket("udp4");
      const echoed = new Promise<void>((resolve) => client.once("message", () => resolve()));
      client.send(Buffer.from("hello"), server.port, "127.0.0.1");
      await echoed;
      client.close();
      const { exitCode, stdout } = await server.stop();
      expect(exitCode).toBe(0);
      expect(stdout).toMatch(new RegExp(`^trace file: ${path}: \\d+ events \\(open it in ui\\.perfetto\\.dev\\)$`, "m"));
      const trace = JSON.parse(readFileSync(path, "utf8")) as { traceEvents: { name: string; ph: string }[] };
      const names = trace.traceEvents.filter((event) => event.ph === "M").map((event) => event.name);
      expect(names).toContain("thread_name");
      expect(trace.traceEvents.some((event) => event.ph === "s")).toBe(true);
    } finally {
      rmSync(path, { force: true });
    }
  });
});
