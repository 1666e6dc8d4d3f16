import { expect, test } from "bun:test";
import { join } from "node:path";
import { runProcess } from "./helpers.ts";

test("bad input to the native library gives errors, never a crash (run in a subprocess)", async () => {
  const { stdout, stderr, exitCode } = await runProcess([
    process.execPath,
    join(import.meta.dir, "fixtures", "bad-ffi-input.ts"),
  ]);
  expect(stderr).toBe("");
  expect(exitCode).toBe(0);
  const { results, errno } = JSON.parse(stdout) as { results: Record<string, string | number>; errno: Record<string, number> };
  expect(results).toEqual({
    "bind with an empty address": -errno.EINVAL!,
    "bind with a short address": -errno.EINVAL!,
    "bind with a misaligned address": -errno.EINVAL!,
    "bind with family 9": -errno.EAFNOSUPPORT!,
    "wait with a short poller handle": -errno.EINVAL!,
    "wait with no room for events": -errno.EINVAL!,
    "recv batch with slot size 0": -errno.EINVAL!,
    "recv batch with slots bigger than the buffer": -errno.EINVAL!,
    "recv on a descriptor that is not open": -errno.EBADF!,
    "close of a negative descriptor": -errno.EBADF!,
    "null instead of a buffer": "threw TypeError: bun:ffi 'buffer' argument must be a TypedArray or DataView",
    "a number instead of a buffer": "threw TypeError: bun:ffi 'buffer' argument must be a TypedArray or DataView",
    close: 0,
    "close again": -errno.EBADF!,
    "unknown option": -errno.ENOPROTOOPT!,
  });
});
