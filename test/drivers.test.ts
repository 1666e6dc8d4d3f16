// What is particular to the drivers, beyond the behaviour every test runs under both.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runProcess } from "./helpers.ts";

test("a reactor thread whose wait fails makes the executor fail with the error, not hang (subprocess)", async () => {
  const { stdout, exitCode } = await runProcess(
    [process.execPath, join(import.meta.dir, "fixtures", "reactor-thread-failure.ts")],
    {
      timeoutMs: 10_000,
    },
  );
  expect(exitCode).toBe(0);
  expect(stdout).toBe("SystemError: The reactor thread cannot wait for events: bad file descriptor (EBADF)\nwithin 5 s: true\n");
});
