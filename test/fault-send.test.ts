// A waiting batch send under injected faults (a library built with -Dfault-injection, in a
// subprocess): EINTR is retried, EAGAIN waits for writability, ENOBUFS and ENOMEM pause and go
// on, a partial send goes on with the rest. Every datagram arrives; none is refused or lost.
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { faultLibrary, run } from "../scripts/build.ts";
import { runProcess } from "./helpers.ts";

const root = join(import.meta.dir, "..");

beforeAll(() => {
  run(
    [join(root, "scripts", "zig"), "build", "-Dfault-injection", "-p", "zig-out/fault", "--summary", "none"],
    join(root, "zig"),
  );
}, 120_000);

/** Runs a fixture with seed `seed` on the fault-injection build of the library. */
async function runWithFaults(fixture: string, seed: number): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", fixture), String(seed)], {
    env: { ...process.env, BUN_REACTOR_LIB: faultLibrary },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { stdout, stderr, exitCode };
}

describe("sendBatch under injected faults", () => {
  test.each([3, 77])(
    "seed %p: 3,200 datagrams sent in batches of 64 all arrive, none refused",
    async (seed) => {
      const { stdout, stderr, exitCode } = await runWithFaults("faulty-send.ts", seed);
      expect(stderr).toBe("");
      expect(exitCode).toBe(0);
      const result = JSON.parse(stdout) as { sent: number; received: number; refused: number; faults: Record<string, number> };
      expect({ sent: result.sent, received: result.received, refused: result.refused }).toEqual({
        sent: 3200,
        received: 3200,
        refused: 0,
      });
      // The faults did come, of every kind a send can meet.
      expect(result.faults.ENOBUFS! + result.faults.ENOMEM!).toBeGreaterThan(0);
      expect(result.faults.partial).toBeGreaterThan(0);
    },
    60_000,
  );
});

describe("segmented sends refused by the kernel (EIO, a device without checksum offload)", () => {
  test.each([0, 5])(
    "seed %p: every coalesced entry still arrives datagram by datagram, each once and in order",
    async (seed) => {
      const { stdout, stderr, exitCode } = await runWithFaults("refused-segmentation.ts", seed);
      expect(stderr).toBe("");
      expect(exitCode).toBe(0);
      // 40 rounds of three entries: 6 + 1 + 3 datagrams each.
      expect(JSON.parse(stdout)).toEqual({ refusal: "EIO", sent: 120, datagrams: 400, refused: 0, received: 400, differing: 0 });
    },
    60_000,
  );
});
