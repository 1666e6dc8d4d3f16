import { describe, expect, test } from "bun:test";
import { Layout, nativeConstants, nativeLayout, sharedConstants } from "../src/sys/abi.ts";

// The library was built from zig/src/abi.zig; the expectations come from src/sys/abi.ts's own
// definitions. A change on either side alone makes these fail.
describe("the ABI shared with Zig", () => {
  test("every size and offset the library reports equals the TypeScript mirror", () => {
    expect(nativeLayout()).toEqual({ ...Layout });
  });

  test("every constant the library reports equals the TypeScript definition of the same name", () => {
    const native = nativeConstants();
    const mirrored = sharedConstants();
    for (const [name, value] of Object.entries(native)) {
      expect({ name, value: mirrored[name] }).toEqual({ name, value });
    }
  });

  test("the TypeScript side defines no constant the library lacks", () => {
    const native = nativeConstants();
    const missing = Object.keys(sharedConstants()).filter((name) => !(name in native));
    expect(missing).toEqual([]);
  });

  test("the constants cover the flags, the waker token, the truncation flag and the options", () => {
    const names = Object.keys(nativeConstants());
    for (const name of ["interest_readable", "event_hangup", "token_waker", "datagram_truncated", "option.ipv6_only"]) {
      expect(names).toContain(name);
    }
  });
});
