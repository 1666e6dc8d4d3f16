/**
 * Where udp-echo's sockets come from: those a service manager passed (socket activation), or
 * those it binds itself, a group per worker; on a wildcard address a socket of its own on each of
 * the host's addresses beside the wildcard one.
 *
 * @module
 */
import {
  ActivationError,
  bindEveryAddress,
  clearActivationEnvironment,
  isWildcardHost,
  passedDescriptors,
  takePassedUdpSockets,
  UdpSocket,
} from "../index.ts";
import type { EchoConfig } from "./config.ts";
import { err } from "./output.ts";

/**
 * The sockets the server serves: a group per worker, whose first is the one on its address.
 *
 * @example
 * ```ts
 * const leaders = groups.map((group) => group[0]!);
 * ```
 */
export type SocketGroups = UdpSocket[][];

/**
 * Binds the server's sockets, a group per worker, the groups sharing the port (SO_REUSEPORT):
 * the socket on `--host`, and on a wildcard address one beside it on each of the host's
 * addresses, which answer their clients without control messages (`bindEveryAddress`); the
 * wildcard socket answers the rest from each datagram's destination. Says which addresses were
 * left to the wildcard socket, and why.
 */
function bindSockets(config: EchoConfig): SocketGroups {
  const options = {
    reusePort: config.workers > 1,
    recvBufferBytes: 4 << 20,
    sendBufferBytes: 4 << 20,
    offload: config.offload === "auto",
  };
  const groups: SocketGroups = [];
  let port = config.port;
  try {
    while (groups.length < config.workers) {
      if (!isWildcardHost(config.host)) {
        groups.push([UdpSocket.bind({ host: config.host, port }, options)]);
      } else {
        const { wildcard, addresses, skipped } = bindEveryAddress({ host: config.host, port }, options);
        groups.push([wildcard, ...addresses]);
        if (groups.length === 1) {
          for (const { host, reason } of skipped) {
            err(`udp-echo: ${host} has no socket of its own (${reason}): the wildcard socket answers its clients`);
          }
        }
      }
      port = groups[0]![0]!.localAddress.port;
    }
  } catch (error) {
    for (const socket of groups.flat()) socket.close();
    throw error;
  }
  return groups;
}

/**
 * What a bind refused with EACCES (a port below 1024, unprivileged) says to do instead.
 *
 * @example
 * ```ts
 * err(`udp-echo: ${error.message}${error.code === "EACCES" ? PRIVILEGED_PORT_HINT : ""}`);
 * ```
 */
export const PRIVILEGED_PORT_HINT =
  ": a port below 1024 needs privilege: start udp-echo by socket activation (contrib/systemd/udp-echo.socket, " +
  "or systemd-socket-activate --datagram -l PORT udp-echo) or grant it CAP_NET_BIND_SERVICE";

/**
 * The sockets to serve: those a service manager passed (socket activation), one per worker, or
 * else those bound here (see {@link bindSockets}). Throws {@link ActivationError} for passed
 * sockets it cannot serve, or flags that contradict them, and {@link SystemError} for a bind that
 * fails.
 *
 * @example
 * ```ts
 * const { config, groups, activated } = takeSockets(parsed);
 * ```
 */
export function takeSockets(config: EchoConfig): { config: EchoConfig; groups: SocketGroups; activated: boolean } {
  const passed = passedDescriptors(process.env, process.pid);
  if (passed === null) return { config, groups: bindSockets(config), activated: false };
  // The worker threads and anything the echo starts must not take the variables for theirs.
  clearActivationEnvironment(process.env);
  if (passed.length === 0) throw new ActivationError("socket activation: LISTEN_FDS is 0: the service manager passed no socket");
  const address = config.given.filter((flag) => flag === "--host" || flag === "--port");
  if (address.length > 0) {
    throw new ActivationError(
      `socket activation: ${address.join(" and ")} cannot choose the address of passed sockets: leave them out`,
    );
  }
  if (config.given.includes("--workers") && config.workers !== passed.length) {
    throw new ActivationError(
      `socket activation: --workers ${config.workers}, but ${passed.length} socket${passed.length === 1 ? " was" : "s were"} passed: ` +
        "each worker serves one passed socket (leave --workers out, or pass as many sockets)",
    );
  }
  if (passed.length > 1 && (config.console !== null || config.traceFile !== null)) {
    throw new ActivationError(
      `socket activation: ${config.console !== null ? "--console" : "--trace-file"} shows one runtime, ` +
        `but ${passed.length} sockets were passed, one worker each`,
    );
  }
  const offload = config.offload === "auto";
  // A passed socket on a wildcard address is taken over again, asking for each datagram's destination.
  const sockets = takePassedUdpSockets(passed, { offload }).map((socket) =>
    isWildcardHost(socket.localAddress.host)
      ? UdpSocket.fromDescriptor(socket.release(), { offload, receiveDestination: true })
      : socket,
  );
  return { config: { ...config, workers: sockets.length }, groups: sockets.map((socket) => [socket]), activated: true };
}
