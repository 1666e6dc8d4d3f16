// What is particular to the drivers, beyond the behaviour every test runs under both.
import { expect, test } from "bun:test";
import { join } from "node:path";

test("a reactor thread whose wait fails makes the executor fail with the error, not hang (subprocess)", async () => {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", "reactor-thread-failure.ts")], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const [stdout, exitCode] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  clearTimeout(timer);
  expect(exitCode).toBe(0);
  expect(stdout).toBe("SystemError: The reactor thread cannot wait for events: bad file descriptor (EBADF)\nwithin 5 s: true\n");
});
