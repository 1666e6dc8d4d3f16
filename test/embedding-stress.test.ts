// 1,000,000 datagrams through the embedded runtime while Bun.serve keeps answering, in a
// subprocess so that a crash shows as a failed exit. The load comes from the Zig load
// generator, which verifies every echoed byte.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { run } from "../scripts/build.ts";

const root = join(import.meta.dir, "..");
const loadgenPath = join(root, "zig", "zig-out", "bin", "loadgen");

test("1,000,000 datagrams echo through the embedded runtime while Bun.serve answers, none lost or corrupted", async () => {
  run([join(root, "scripts", "zig"), "build", "bench", "--summary", "none"], join(root, "zig"));
  const server = Bun.spawn([process.execPath, join(root, "examples", "embedded-http.ts"), "0", "0"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = server.stdout.getReader();
  let output = "";
  while (!/listening on udp [\d.]+:(\d+), http [\d.]+:(\d+)/.test(output)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the example exited: ${output}`);
    output += new TextDecoder().decode(value);
  }
  try {
    await echoUnderLoad(output, server);
  } finally {
    // A failed expectation must not leave the example running (it would hold the test run open).
    server.kill("SIGTERM");
  }
}, 120_000);

async function echoUnderLoad(output: string, server: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<void> {
  const [, udpPort, httpPort] = /listening on udp [\d.]+:(\d+), http [\d.]+:(\d+)/.exec(output)!;

  // The load: 8 sockets × 32 in flight until 1,000,000 have come back (or a 60 s limit). A
  // window counts as lost only after 5 s without a reply: on a loaded machine the server may
  // not run for longer than the load generator's default 50 ms, and nothing may be lost here.
  const loadgen = Bun.spawn(
    [loadgenPath, "--stall-ms", "5000", "count", "127.0.0.1", udpPort!, "100", "60", "8", "32", "1000000"],
    { stdout: "pipe", stderr: "pipe" },
  );
  // Meanwhile, HTTP requests to Bun.serve in the same process.
  let answered = 0;
  let failed = 0;
  const done = loadgen.exited;
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) {
    try {
      const response = await fetch(`http://127.0.0.1:${httpPort}/stats`);
      if (response.ok && typeof ((await response.json()) as { datagrams?: unknown }).datagrams === "number") answered++;
      else failed++;
    } catch {
      failed++;
    }
    await Bun.sleep(10);
  }
  const result = JSON.parse(await new Response(loadgen.stdout).text()) as { echoes: number; errors: number; lost: number };
  expect(await loadgen.exited).toBe(0);
  expect(result).toMatchObject({ echoes: 1_000_000, errors: 0, lost: 0 });
  expect(answered).toBeGreaterThan(10);
  expect(failed).toBe(0);

  const stats = (await (await fetch(`http://127.0.0.1:${httpPort}/stats`)).json()) as { datagrams: number };
  expect(stats.datagrams).toBe(1_000_000);

  server.kill("SIGTERM");
  expect(await server.exited).toBe(0);
  expect(await new Response(server.stderr).text()).toBe("");
}
