import { describe, expect, test } from "bun:test";
import { Layout, nativeLayout } from "../src/sys/abi.ts";

describe("the struct layout shared with Zig", () => {
  test("every size and offset the library reports equals the TypeScript mirror", () => {
    expect(nativeLayout()).toEqual({ ...Layout });
  });

  test("the mirror states the sizes zig/src/abi.zig asserts at compile time", () => {
    expect(Layout.pollerSize).toBe(8);
    expect(Layout.eventSize).toBe(16);
    expect(Layout.addressSize).toBe(24);
    expect(Layout.datagramSize).toBe(32);
    expect(Layout.datagramAddressOffset).toBe(8);
  });
});
