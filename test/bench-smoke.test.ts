// The benchmark runs from a fresh clone: a brief smoke run, which checks that every part of it
// works and prints its table. It is not a timed test: no figure is compared with a threshold.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runProcess } from "./helpers.ts";

const root = join(import.meta.dir, "..");

test("bun run bench --smoke measures the reference and udp-echo and prints the table", async () => {
  const { stdout, stderr, exitCode } = await runProcess([
    process.execPath,
    join(root, "bench", "run.ts"),
    "--smoke",
    "--only",
    "udp-echo",
  ]);
  expect(exitCode).toBe(0);
  for (const size of [64, 1400]) expect(stdout).toContain(`### ${size}-byte datagrams`);
  expect(stdout).toMatch(/^\| zig-reference \| \d+ \| 1\.00× \| [\d.]+ \| 1\.00× \|/m);
  expect(stdout).toMatch(
    /^\| udp-echo \| \d+ \| [\d.]+× \| [\d.]+ \| [\d.]+× \| [\d.]+ \| [\d.]+× \| [\d.]+ \| [\d.]+ \| 0 \| \d+ \|$/m,
  );
  expect(stdout).toMatch(/^Cold start of `dist\/udp-echo` to its first echo: [\d.]+ ms \(median of 1\)\.$/m);
  expect(stderr).not.toContain("written to bench/RESULTS.md");
}, 120_000);
