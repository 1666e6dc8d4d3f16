// The chaos run (`npm run chaos`): an echo on the fault-injection library, flooded over IPv4
// and IPv6, accounts for every datagram it received, with its invariants intact, for three
// seeds. Each seed runs briefly: the long runs are for `npm run chaos -- --seconds 60`.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runProcess } from "./helpers.ts";

const script = join(import.meta.dir, "..", "scripts", "chaos.ts");

describe.skipIf(process.platform !== "linux")("npm run chaos", () => {
  test.each([1, 42, 20261127])(
    "seed %p: every datagram received is echoed or counted as dropped, nothing crashes",
    async (seed) => {
      const result = await runProcess([process.execPath, script, "--seed", String(seed), "--seconds", "1.5", "--rate", "20000"]);
      expect(result.stderr).toBe("");
      const line = result.stdout.split("\n")[0]!;
      expect(line).toMatch(
        new RegExp(
          `^chaos: seed=${seed} received=[1-9]\\d* echoed=\\d+ dropped=\\d+ \\(oversized \\d+, .*\\) unaccounted=0 crashed=no$`,
        ),
      );
      // Faults were injected at all three points.
      expect(result.stdout).toMatch(/faults at 20000 per million calls: recv (?!none).*; send (?!none).*; wait (?!none)/);
      expect(result.exitCode).toBe(0);
    },
    120_000,
  );
});

test.each([
  [["--seed", "abc"], 'chaos: --seed "abc" is not a whole number >= 0'],
  [["--seed", "1", "--seconds", "0"], 'chaos: --seconds "0" is not a number of seconds above 0 and at most 3600'],
  [
    ["--seed", "1", "--rate", "2000000"],
    'chaos: --rate "2000000" is not a whole number of faults per million calls from 0 to 1000000',
  ],
])("npm run chaos %p refuses with one line naming the value, and exits 2", async (args, message) => {
  const result = await runProcess([process.execPath, script, ...args]);
  expect(result.stderr).toBe(`${message}\nUsage: npm run chaos -- --seed N [--seconds S] [--rate PPM]\n`);
  expect(result.exitCode).toBe(2);
});
