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
