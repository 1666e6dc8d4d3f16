/**
 * Socket activation: the sockets a service manager bound and passed to this process, by the
 * protocol of sd_listen_fds(3). systemd (a `.socket` unit), `systemd-socket-activate` and
 * inetd-style managers open the sockets, which lets them bind a privileged port such as 7 for
 * a program that runs unprivileged, and start it with:
 *
 * - `LISTEN_PID`: the process the sockets are for (a child that inherits the variables is not);
 * - `LISTEN_FDS`: how many descriptors were passed, numbered from 3 ({@link LISTEN_FDS_START});
 * - `LISTEN_FDNAMES` (optional): their names, separated by colons (by default the unit's name).
 *
 * @module
 */
import { SystemError } from "../sys/errors.ts";
import { UdpSocket } from "./udp-socket.ts";

/** The first passed descriptor: 0, 1 and 2 are standard input, output and error. */
export const LISTEN_FDS_START = 3;

/** The most descriptors taken from a service manager: more is a mistake in its configuration. */
export const LISTEN_FDS_MAX = 1024;

/** One descriptor a service manager passed, with the name it gave, if any. */
export interface PassedDescriptor {
  readonly fd: number;
  /** Its entry of `LISTEN_FDNAMES`, or null without that variable. */
  readonly name: string | null;
}

/**
 * The variables of socket activation are malformed, or a passed descriptor is not what the
 * program can serve. The message names the variable or the descriptor (and its name).
 */
export class ActivationError extends Error {
  override readonly name = "ActivationError";
}

/** The variables read, as `process.env` holds them. */
export type ActivationEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * The descriptors a service manager passed to this process, or null when it passed none
 * (`LISTEN_PID` unset, or set for another process: the variables were inherited). Throws
 * {@link ActivationError} when the variables are malformed. Reading them does not change them:
 * see {@link clearActivationEnvironment}.
 *
 * @example
 * ```ts
 * // Started by `systemd-socket-activate --datagram -l 7 udp-echo`:
 * passedDescriptors(process.env, process.pid); // [{ fd: 3, name: null }]
 * ```
 */
export function passedDescriptors(env: ActivationEnvironment, pid: number): PassedDescriptor[] | null {
  const listenPid = env.LISTEN_PID;
  if (listenPid === undefined) return null;
  if (!/^[1-9]\d*$/.test(listenPid)) {
    throw new ActivationError(`socket activation: LISTEN_PID "${listenPid}" is not a process id`);
  }
  if (Number(listenPid) !== pid) return null;
  const listenFds = env.LISTEN_FDS ?? "";
  if (!/^\d+$/.test(listenFds) || Number(listenFds) > LISTEN_FDS_MAX) {
    throw new ActivationError(
      `socket activation: LISTEN_FDS "${listenFds}" is not a count of descriptors from 0 to ${LISTEN_FDS_MAX}`,
    );
  }
  const count = Number(listenFds);
  const names = env.LISTEN_FDNAMES === undefined ? null : env.LISTEN_FDNAMES.split(":");
  if (names !== null && names.length !== count) {
    throw new ActivationError(
      `socket activation: LISTEN_FDNAMES "${env.LISTEN_FDNAMES}" names ${names.length} descriptors, but LISTEN_FDS is ${count}`,
    );
  }
  return Array.from({ length: count }, (_, index) => ({ fd: LISTEN_FDS_START + index, name: names?.[index] ?? null }));
}

/**
 * Removes the variables of socket activation from `env`, so that a program this process starts
 * does not take them for its own (sd_listen_fds(3) does the same when asked to).
 *
 * @example
 * ```ts
 * clearActivationEnvironment(process.env);
 * ```
 */
export function clearActivationEnvironment(env: Record<string, string | undefined>): void {
  for (const name of ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]) delete env[name];
}

/**
 * A passed descriptor as messages name it.
 *
 * @example
 * ```ts
 * describePassed({ fd: 3, name: "udp-echo.socket" }); // 'descriptor 3 ("udp-echo.socket")'
 * ```
 */
export function describePassed(passed: PassedDescriptor): string {
  return passed.name === null || passed.name === "" ? `descriptor ${passed.fd}` : `descriptor ${passed.fd} ("${passed.name}")`;
}

/** Why a passed descriptor cannot be served, after its name: `is a TCP socket, not a UDP socket`. */
function refusal(error: unknown): string {
  if (error instanceof SystemError && error.code === "ENOTSOCK") return "is not a socket";
  if (error instanceof SystemError && error.code === "EBADF") return "is not open";
  if (error instanceof TypeError) return error.message.replace(/^UdpSocket\.fromDescriptor: descriptor \d+ /, "");
  throw error;
}

/**
 * Takes the passed descriptors over as UDP sockets (made non-blocking and close-on-exec, offload
 * asked for as `options.offload` says). Each must be a UDP socket bound to an address, IPv4 or
 * IPv6; the first that is not (a TCP socket, a Unix socket, one bound to nothing, not a socket)
 * is refused with an {@link ActivationError} that names it, and the sockets taken before it are
 * closed. Taken sockets are the caller's, to close.
 *
 * @example
 * ```ts
 * const passed = passedDescriptors(process.env, process.pid);
 * const sockets = passed === null ? [] : takePassedUdpSockets(passed, { offload: true });
 * ```
 */
export function takePassedUdpSockets(passed: readonly PassedDescriptor[], options: { offload?: boolean } = {}): UdpSocket[] {
  const sockets: UdpSocket[] = [];
  try {
    for (const descriptor of passed) {
      try {
        sockets.push(UdpSocket.fromDescriptor(descriptor.fd, options));
      } catch (error) {
        throw new ActivationError(`socket activation: ${describePassed(descriptor)} ${refusal(error)}`);
      }
    }
  } catch (error) {
    for (const socket of sockets) socket.close();
    throw error;
  }
  return sockets;
}
