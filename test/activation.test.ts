// The LISTEN_FDS protocol read from the environment: what counts as passed sockets, and the
// malformed variables refused with a message that names them.
import { describe, expect, test } from "bun:test";
import { ActivationError, clearActivationEnvironment, passedDescriptors, takePassedUdpSockets, UdpSocket } from "../src/index.ts";

describe("passedDescriptors", () => {
  test("without LISTEN_PID nothing was passed", () => {
    expect(passedDescriptors({ LISTEN_FDS: "2" }, 100)).toBeNull();
  });

  test("variables for another process (inherited from a parent) pass nothing to this one", () => {
    expect(passedDescriptors({ LISTEN_PID: "99", LISTEN_FDS: "2" }, 100)).toBeNull();
  });

  test("descriptors are numbered from 3, each with its LISTEN_FDNAMES entry", () => {
    expect(passedDescriptors({ LISTEN_PID: "100", LISTEN_FDS: "2", LISTEN_FDNAMES: "udp4:udp6" }, 100)).toEqual([
      { fd: 3, name: "udp4" },
      { fd: 4, name: "udp6" },
    ]);
    expect(passedDescriptors({ LISTEN_PID: "100", LISTEN_FDS: "1" }, 100)).toEqual([{ fd: 3, name: null }]);
  });

  test.each([
    [{ LISTEN_PID: "abc", LISTEN_FDS: "1" }, 'LISTEN_PID "abc" is not a process id'],
    [{ LISTEN_PID: "100" }, 'LISTEN_FDS "" is not a count of descriptors from 0 to 1024'],
    [{ LISTEN_PID: "100", LISTEN_FDS: "-1" }, 'LISTEN_FDS "-1" is not a count'],
    [{ LISTEN_PID: "100", LISTEN_FDS: "5000" }, 'LISTEN_FDS "5000" is not a count'],
    [
      { LISTEN_PID: "100", LISTEN_FDS: "2", LISTEN_FDNAMES: "one" },
      'LISTEN_FDNAMES "one" names 1 descriptors, but LISTEN_FDS is 2',
    ],
  ])("malformed variables %p are refused, named", (env, message) => {
    expect(() => passedDescriptors(env, 100)).toThrow(ActivationError);
    expect(() => passedDescriptors(env, 100)).toThrow(message);
  });

  test("clearActivationEnvironment removes the three variables and nothing else", () => {
    const env: Record<string, string | undefined> = { LISTEN_PID: "1", LISTEN_FDS: "1", LISTEN_FDNAMES: "a", PATH: "/bin" };
    clearActivationEnvironment(env);
    expect(env).toEqual({ PATH: "/bin" });
  });
});

describe("takePassedUdpSockets", () => {
  test("a bound UDP socket is taken over and serves; a bad descriptor after it is refused and the first closed", () => {
    const original = UdpSocket.bind("127.0.0.1:0");
    const fd = original.release();
    expect(() =>
      takePassedUdpSockets([
        { fd, name: "good" },
        { fd: 1_000_000, name: "bad" },
      ]),
    ).toThrow('socket activation: descriptor 1000000 ("bad") is not open');
    // The good one was taken, then closed when the second was refused: its number is free.
    expect(() => UdpSocket.fromDescriptor(fd)).toThrow("EBADF");
  });
});
