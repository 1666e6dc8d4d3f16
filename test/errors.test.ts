import { describe, expect, test } from "bun:test";
import { constants } from "node:os";
import { errnoName, SystemError } from "../src/sys/errors.ts";

describe("SystemError", () => {
  test("errno values get the OS's names from the library", () => {
    expect(errnoName(constants.errno.EAGAIN)).toBe("EAGAIN");
    expect(errnoName(constants.errno.EADDRINUSE)).toBe("EADDRINUSE");
    expect(errnoName(constants.errno.ECONNREFUSED)).toBe("ECONNREFUSED");
    expect(errnoName(9999)).toBe("E9999");
  });

  test("the message states the action, the reason and the errno name", () => {
    const error = new SystemError("bind", constants.errno.EADDRINUSE, "Cannot bind UDP socket to 127.0.0.1:7777");
    expect(error.message).toBe("Cannot bind UDP socket to 127.0.0.1:7777: address already in use (EADDRINUSE)");
    expect(error.syscall).toBe("bind");
    expect(error.code).toBe("EADDRINUSE");
    expect(error.errno).toBe(constants.errno.EADDRINUSE);
    expect(error).toBeInstanceOf(Error);
  });
});
