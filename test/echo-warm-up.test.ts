// udp-echo's warm-up before its ready line (src/echo/warm-up.ts), run in a subprocess (through
// FFI): it echoes on sockets of its own, and some of its clients depart, so that the error
// queue's path is compiled before the first client of the service leaves.
import { expect, test } from "bun:test";

test("the warm-up echoes, and the echoes to its departed clients meet ICMP errors read from the error queue", async () => {
  const script = `
    import { parseCommandLine } from "./src/echo/config.ts";
    import { warmUp } from "./src/echo/warm-up.ts";
    import { Runtime } from "./src/runtime/runtime.ts";
    const command = parseCommandLine(["--port", "0"]);
    if (command.kind !== "serve") throw new Error("not a serve command");
    using runtime = new Runtime();
    const report = runtime.blockOn(warmUp(command.config));
    console.log(JSON.stringify({ ...report, tasks: runtime.executor.alive }));
  `;
  const child = Bun.spawn([process.execPath, "-e", script], { cwd: `${import.meta.dir}/..`, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  const report = JSON.parse(stdout) as { echoes: number; lost: number; unreachable: number; tasks: number };
  expect(report.echoes).toBeGreaterThan(1_000);
  // Linux has the error queue (the BSDs count such echoes as sent).
  if (process.platform === "linux") expect(report.unreachable).toBeGreaterThan(0);
  expect(report.tasks).toBe(0);
});
