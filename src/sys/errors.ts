/**
 * One error class for every failed system call, and the errno names it carries.
 *
 * @module
 */
import { constants } from "node:os";
import { getSystemErrorMessage } from "node:util";
import { native } from "./ffi.ts";

const names = new Map<number, string>();
const nameBuffer = new Uint8Array(32);

/**
 * The OS's name for an errno value (`"EADDRINUSE"`), asked of the native library so that it is
 * right on every OS; `"E<number>"` for a value the OS does not name.
 *
 * @example
 * ```ts
 * errnoName(constants.errno.EAGAIN); // "EAGAIN"
 * ```
 */
export function errnoName(errno: number): string {
  let name = names.get(errno);
  if (name === undefined) {
    const len = native.br_errno_name(errno, nameBuffer, nameBuffer);
    name = len > 0 ? new TextDecoder().decode(nameBuffer.subarray(0, len)) : `E${errno}`;
    names.set(errno, name);
  }
  return name;
}

function describe(errno: number): string {
  try {
    return getSystemErrorMessage(-errno);
  } catch {
    return "unknown error";
  }
}

/**
 * A failed system call: what was being done, the call, and the errno by number and by name.
 *
 * Its message states the action and the value it failed on, then the OS's reason:
 * `Cannot bind UDP socket to 127.0.0.1:7777: address already in use (EADDRINUSE)`.
 *
 * @example
 * ```ts
 * try {
 *   UdpSocket.bind("127.0.0.1:7777");
 * } catch (error) {
 *   if (error instanceof SystemError && error.code === "EADDRINUSE") console.error(error.message);
 * }
 * ```
 */
export class SystemError extends Error {
  override readonly name = "SystemError";
  /** The system call or library function that failed, e.g. `"bind"`. */
  readonly syscall: string;
  /** The errno value, as the OS numbers it. */
  readonly errno: number;
  /** The errno name, e.g. `"EADDRINUSE"`. */
  readonly code: string;

  constructor(syscall: string, errno: number, action: string) {
    const code = errnoName(errno);
    super(`${action}: ${describe(errno)} (${code})`);
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
  }
}

/** Errno values the runtime tests for, as this OS numbers them. */
export const Errno = {
  EAGAIN: constants.errno.EAGAIN,
  EWOULDBLOCK: constants.errno.EWOULDBLOCK,
  EINTR: constants.errno.EINTR,
  EBADF: constants.errno.EBADF,
  ENOTSOCK: constants.errno.ENOTSOCK,
  EINVAL: constants.errno.EINVAL,
  EIO: constants.errno.EIO,
  EEXIST: constants.errno.EEXIST,
  ENOENT: constants.errno.ENOENT,
  ECONNREFUSED: constants.errno.ECONNREFUSED,
  ECONNRESET: constants.errno.ECONNRESET,
  EHOSTUNREACH: constants.errno.EHOSTUNREACH,
  ENETUNREACH: constants.errno.ENETUNREACH,
  EMSGSIZE: constants.errno.EMSGSIZE,
  ENOBUFS: constants.errno.ENOBUFS,
  ENOMEM: constants.errno.ENOMEM,
  ENOPROTOOPT: constants.errno.ENOPROTOOPT,
  ENOTCONN: constants.errno.ENOTCONN,
  ENODEV: constants.errno.ENODEV,
  EADDRINUSE: constants.errno.EADDRINUSE,
  EADDRNOTAVAIL: constants.errno.EADDRNOTAVAIL,
} as const;

/**
 * Returns `rc` if it is a success (`>= 0`); throws the {@link SystemError} it stands for if not.
 * `action` is called only on failure, so building its message costs nothing on success.
 */
export function check(rc: number, syscall: string, action: () => string): number {
  if (rc >= 0) return rc;
  throw new SystemError(syscall, -rc, action());
}
