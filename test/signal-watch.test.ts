import { expect, test } from "bun:test";
import { join } from "node:path";
import { SignalWatch } from "../src/net/signal-watch.ts";
import { runProcess } from "./helpers.ts";

test("a signal the watch was opened for wakes the task that waits for it; the try form says would-block before (subprocess)", async () => {
  const { stdout, stderr, exitCode } = await runProcess([process.execPath, join(import.meta.dir, "fixtures", "signal-watch.ts")]);
  expect(stderr).toBe("");
  expect(exitCode).toBe(0);
  expect(JSON.parse(stdout)).toEqual({ before: "would-block", received: "SIGUSR2", after: "would-block" });
});

test("a name that is not a watchable signal is refused, named, before any handler changes", () => {
  expect(() => SignalWatch.open(["SIGFOO" as never])).toThrow(
    'SignalWatch.open: "SIGFOO" is not one of SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM, SIGWINCH',
  );
  expect(() => SignalWatch.open([])).toThrow("is not a list of signal names");
  expect(() => SignalWatch.open("SIGINT" as never)).toThrow("SignalWatch.open: SIGINT is not a list of signal names");
});
