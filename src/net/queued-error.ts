/**
 * The reused record of an error taken from a socket's error queue (`UdpSocket.tryRecvError`).
 *
 * @module
 */
import { Layout } from "../sys/abi.ts";
import { decodeAddress, type SocketAddress } from "../sys/address.ts";
import { errnoName } from "../sys/errors.ts";
import type { QueuedError } from "./udp-types.ts";

/**
 * The {@link QueuedError} of a socket, as the library wrote it (`abi.QueuedError`): one per
 * socket, overwritten by each read, so that a flood of errors allocates nothing.
 *
 * @example
 * ```ts
 * const record = new QueuedErrorRecord();
 * udpTryRecvError(fd, record.bytes); // then record.code, record.peer, record.mtu
 * ```
 */
export class QueuedErrorRecord implements QueuedError {
  /** The `abi.QueuedError` the library writes. */
  readonly bytes = new Uint8Array(Layout.queuedErrorSize);
  readonly #view = new DataView(this.bytes.buffer);

  get errno(): number {
    return this.#view.getUint32(Layout.queuedErrorErrnoOffset, true);
  }

  get code(): string {
    return this.errno === 0 ? "unknown" : errnoName(this.errno);
  }

  get peer(): SocketAddress {
    return decodeAddress(this.#view, Layout.queuedErrorAddressOffset);
  }

  get mtu(): number | null {
    const mtu = this.#view.getUint32(Layout.queuedErrorMtuOffset, true);
    return mtu === 0 ? null : mtu;
  }
}
