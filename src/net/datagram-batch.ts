/**
 * A batch of datagrams in memory shared with the library: `capacity` slots of `slotSize` bytes
 * for the payloads, and one 32-byte entry per slot for the length, flags, segment size and
 * peer. A batch is allocated once and reused: receiving into it and sending from it allocate
 * nothing.
 *
 * **Coalesced entries.** On a socket with offload on (`UdpSocket.bind(address, { offload: true })`)
 * one entry may hold several datagrams: all from one source (received) or to one peer (sent),
 * laid end to end in its slot, each of `segmentSize(i)` bytes except the last, which may be
 * shorter. An entry of 537 bytes with a segment size of 100 is six datagrams: five of 100 bytes
 * and one of 37, in the order they were sent. The kernel makes such entries on receive (UDP
 * GRO) from bursts a peer sent back to back, and cuts them into datagrams again on send (UDP
 * GSO), so that a burst crosses the kernel once instead of once per datagram. A plain entry is
 * the special case of one datagram: its segment size is its size.
 *
 * @module
 */
import { DATAGRAM_TRUNCATED, Layout } from "../sys/abi.ts";
import { decodeAddress, encodeAddress, type SocketAddress } from "../sys/address.ts";
import { errnoName } from "../sys/errors.ts";
import {
  decodeDestination,
  decodeInterface,
  decodeTrafficClass,
  destinationIsUnicast,
  type Ecn,
  ecnOf,
  encodeSendOptions,
  type SendOptions,
} from "./datagram-info.ts";

const ENTRY_WORDS = Layout.datagramSize / 4;
/** The entry word holding the flags (low 16 bits) and the segment size (high 16 bits). */
const FLAGS_WORD = Layout.datagramFlagsOffset / 4;
const SEGMENT_SHIFT = (Layout.datagramSegmentSizeOffset - Layout.datagramFlagsOffset) * 8;

/** The largest segment: the largest UDP datagram over IPv4. */
export const SEGMENT_BYTES_MAX = 65507;

/**
 * The slot size a batch needs to receive on a socket with offload on: the kernel coalesces up
 * to 64 KiB into one entry. A batch of 64 such slots takes 4 MiB.
 */
export const COALESCED_BYTES_MAX: number = Layout.coalescedMax;

/** Options of a {@link DatagramBatch}. */
export interface DatagramBatchOptions {
  /**
   * Keep each entry's datagram info, in an array of its own (32 bytes per entry): received, the
   * destination, interface and ECN that the socket reports (`receiveDestination`,
   * `receiveEcn`); sent, the source and ECN set with {@link DatagramBatch.setSendInfo}. A
   * received entry sent back unchanged goes from the address it was sent to. Without it the
   * batch has none, and its receives and sends pass none.
   */
  readonly info?: boolean;
}

/**
 * Reusable buffers for receiving and sending many datagrams per system call.
 *
 * @example
 * ```ts
 * const batch = new DatagramBatch(64, 2048);
 * const count = yield* socket.recvBatch(batch);
 * const report = yield* socket.sendBatch(batch, count); // echo them all back to their senders
 * for (let index = 0; index < count; index++) {
 *   const refusal = batch.refusal(index);
 *   if (refusal !== null) console.log(`${batch.peer(index).port} refused: ${refusal}`);
 * }
 * ```
 */
export class DatagramBatch {
  readonly capacity: number;
  readonly slotSize: number;
  /** The payload slots: datagram `i` is at `[i * slotSize, i * slotSize + size(i))`. */
  readonly payloads: Uint8Array;
  /** The entries: length, flags and peer of each datagram, as `abi.Datagram`. */
  readonly entries: Uint8Array;
  /** The entries as 32-bit words (8 per datagram; the address starts at word 2). */
  readonly entryWords: Uint32Array;
  readonly #words: Uint32Array;
  readonly #view: DataView;
  readonly #payloadPrefixes: Uint8Array[] = [];
  readonly #entryPrefixes: Uint8Array[] = [];
  /** Per datagram: the errno of the OS's refusal in the last send that handled it, or 0. */
  readonly #refusals: Int32Array;
  readonly #received: { readonly state: "ok"; value: number } = { state: "ok", value: 0 };
  /** The datagram info of each entry (`abi.DatagramInfo`), if the batch keeps it (`options.info`). */
  readonly infos: Uint8Array | null;
  readonly #infoView: DataView | null;
  readonly #infoPrefixes: Uint8Array[] = [];
  /** The port of the socket the batch last received on, for {@link destination}. */
  #localPort = 0;

  /**
   * @param capacity datagrams per batch, 1 to `Layout.batchMax` (256).
   * @param slotSize bytes per datagram, 1 to 65535; a larger datagram is reported truncated.
   */
  constructor(capacity: number, slotSize: number, options: DatagramBatchOptions = {}) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > Layout.batchMax) {
      throw new RangeError(`batch capacity ${capacity} is not a whole number from 1 to ${Layout.batchMax}`);
    }
    if (!Number.isInteger(slotSize) || slotSize < 1 || slotSize > 65535) {
      throw new RangeError(`slot size ${slotSize} is not a whole number of bytes from 1 to 65535`);
    }
    this.capacity = capacity;
    this.slotSize = slotSize;
    this.payloads = new Uint8Array(capacity * slotSize);
    this.entries = new Uint8Array(capacity * Layout.datagramSize);
    this.#words = new Uint32Array(this.entries.buffer);
    this.entryWords = this.#words;
    this.#view = new DataView(this.entries.buffer);
    this.#refusals = new Int32Array(capacity);
    if (typeof options !== "object" || options === null)
      throw new TypeError(`DatagramBatch options ${String(options)} are not an object`);
    if (options.info !== undefined && typeof options.info !== "boolean") {
      throw new TypeError(`DatagramBatch option info ${JSON.stringify(options.info)} is not true or false`);
    }
    this.infos = options.info === true ? new Uint8Array(capacity * Layout.datagramInfoSize) : null;
    this.#infoView = this.infos === null ? null : new DataView(this.infos.buffer);
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.capacity) {
      throw new RangeError(`datagram index ${index} is not from 0 to ${this.capacity - 1}`);
    }
  }

  /** The number of payload bytes of datagram `index` (at most `slotSize`). */
  size(index: number): number {
    return this.#words[index * ENTRY_WORDS]!;
  }

  /**
   * The bytes of each datagram of entry `index` but the last, which may be shorter: the entry
   * is `datagramCount(index)` datagrams (see the module's note on coalesced entries). For a
   * plain entry, one datagram, it is its size.
   */
  segmentSize(index: number): number {
    const segment = this.#words[index * ENTRY_WORDS + FLAGS_WORD]! >>> SEGMENT_SHIFT;
    return segment === 0 ? this.size(index) : segment;
  }

  /** How many datagrams entry `index` holds: 1 for a plain entry (an empty datagram too). */
  datagramCount(index: number): number {
    const segment = this.#words[index * ENTRY_WORDS + FLAGS_WORD]! >>> SEGMENT_SHIFT;
    const size = this.size(index);
    return segment === 0 || size === 0 ? 1 : Math.ceil(size / segment);
  }

  /**
   * Datagram `datagram` of entry `index` (a view into the batch, valid until it is reused).
   *
   * @example
   * ```ts
   * for (let n = 0; n < batch.datagramCount(0); n++) handle(batch.datagram(0, n));
   * ```
   */
  datagram(index: number, datagram: number): Uint8Array {
    this.#check(index);
    const count = this.datagramCount(index);
    if (!Number.isInteger(datagram) || datagram < 0 || datagram >= count) {
      throw new RangeError(`datagram ${datagram} is not from 0 to ${count - 1}: entry ${index} holds ${count}`);
    }
    const segment = this.segmentSize(index);
    const start = index * this.slotSize + datagram * segment;
    return this.payloads.subarray(start, start + Math.min(segment, this.size(index) - datagram * segment));
  }

  /**
   * Makes entry `index` (filled with {@link set}) go out as datagrams of `segmentSize` bytes,
   * the last one possibly shorter, in one send (UDP GSO; the socket must have offload on). A
   * segment size of at least the entry's size leaves it one datagram.
   *
   * @example
   * ```ts
   * batch.set(0, bytes, peer); // 3000 bytes
   * batch.setSegmentSize(0, 1200); // sent as 1200 + 1200 + 600
   * ```
   */
  setSegmentSize(index: number, segmentSize: number): void {
    this.#check(index);
    this.reshape(index, this.size(index), segmentSize);
  }

  /**
   * Sets the size and segment size of entry `index`, whose slot already holds the payload: for
   * keeping the first `size` bytes of a received entry, e.g. the datagrams of a burst that may
   * be echoed once the others were moved out of the way. A segment size of at least `size`
   * makes it one datagram. Throws a RangeError naming the value for a size larger than the slot,
   * a segment size outside 1 to {@link SEGMENT_BYTES_MAX}, or more than `Layout.segmentsMax`
   * (64) datagrams, the most one send takes.
   *
   * @example
   * ```ts
   * batch.reshape(0, 3 * 1200, 1200); // keep the first three datagrams of a burst of 1200s
   * ```
   */
  reshape(index: number, size: number, segmentSize: number): void {
    this.#check(index);
    if (!Number.isInteger(size) || size < 0 || size > this.slotSize) {
      throw new RangeError(`entry size ${size} is not a whole number of bytes from 0 to the slot size ${this.slotSize}`);
    }
    if (!Number.isInteger(segmentSize) || segmentSize < 1 || segmentSize > SEGMENT_BYTES_MAX) {
      throw new RangeError(`segment size ${segmentSize} is not a whole number of bytes from 1 to ${SEGMENT_BYTES_MAX}`);
    }
    const count = Math.ceil(size / segmentSize);
    if (count > Layout.segmentsMax) {
      throw new RangeError(
        `segment size ${segmentSize} would cut entry ${index} (${size} bytes) into ${count} datagrams; ` +
          `at most ${Layout.segmentsMax} go in one send`,
      );
    }
    const word = index * ENTRY_WORDS + FLAGS_WORD;
    this.#words[index * ENTRY_WORDS] = size;
    const segment = segmentSize >= size ? 0 : segmentSize;
    this.#words[word] = (this.#words[word]! & 0xffff) | (segment << SEGMENT_SHIFT);
  }

  /** Whether entries `start` to `end - 1` include one to be cut into several datagrams. */
  hasSegmented(start: number, end: number): boolean {
    for (let index = start; index < end; index++) if (this.datagramCount(index) > 1) return true;
    return false;
  }

  /** Whether datagram `index` was larger than its slot and lost its tail. */
  truncated(index: number): boolean {
    return (this.#words[index * ENTRY_WORDS + 1]! & DATAGRAM_TRUNCATED) !== 0;
  }

  /** The peer's port of datagram `index`, read without decoding the whole address. */
  peerPort(index: number): number {
    return this.#view.getUint16(index * Layout.datagramSize + Layout.datagramAddressOffset + Layout.addressPortOffset, true);
  }

  /** The 24 raw address bytes of datagram `index` (a view, not a copy). */
  peerBytes(index: number): Uint8Array {
    const start = index * Layout.datagramSize + Layout.datagramAddressOffset;
    return this.entries.subarray(start, start + Layout.addressSize);
  }

  /** The peer of datagram `index`: the sender after a receive, the receiver for a send. */
  peer(index: number): SocketAddress {
    this.#check(index);
    return decodeAddress(this.#view, index * Layout.datagramSize + Layout.datagramAddressOffset);
  }

  /** The payload of datagram `index` (a view into the batch, valid until it is reused). */
  payload(index: number): Uint8Array {
    this.#check(index);
    const start = index * this.slotSize;
    return this.payloads.subarray(start, start + this.size(index));
  }

  /**
   * Why the OS refused datagram `index` in the last send that handled it, as an errno name
   * (`"ECONNREFUSED"`, `"EHOSTUNREACH"`, …), or null if it was sent (or never handed to a send).
   */
  refusal(index: number): string | null {
    this.#check(index);
    const errno = this.#refusals[index]!;
    return errno === 0 ? null : errnoName(errno);
  }

  /** @internal Entries `start` to `end - 1` were sent: no send has refused them. */
  clearRefusals(start: number, end: number): void {
    this.#refusals.fill(0, start, end);
  }

  /** @internal Entry `index` was refused by the OS with `errno` (see {@link refusal}). */
  noteRefusal(index: number, errno: number): void {
    this.#refusals[index] = errno;
  }

  /** @internal The result of a receive of `count` datagrams: one object per batch, reused. */
  receivedResult(count: number): { readonly state: "ok"; readonly value: number } {
    this.#received.value = count;
    return this.#received;
  }

  /** The info view, or a TypeError naming `call` for a batch made without `info`. */
  #infoViewFor(call: string): DataView {
    if (this.#infoView === null)
      throw new TypeError(`DatagramBatch.${call}: the batch keeps no datagram info (new DatagramBatch(n, size, { info: true }))`);
    return this.#infoView;
  }

  /**
   * The local address datagram `index` was sent to, with the receiving socket's port; null if
   * the socket did not report it (it needs `receiveDestination`). Needs a batch with `info`.
   *
   * @example
   * ```ts
   * const to = batch.destination(0); // { host: "127.0.0.2", port: 7777, … } on a 0.0.0.0 socket
   * ```
   */
  destination(index: number): SocketAddress | null {
    this.#check(index);
    return decodeDestination(this.#infoViewFor("destination"), index * Layout.datagramInfoSize, this.#localPort);
  }

  /** The index of the interface datagram `index` came in on, 0 if not reported; see {@link destination}. */
  interfaceIndex(index: number): number {
    this.#check(index);
    return decodeInterface(this.#infoViewFor("interfaceIndex"), index * Layout.datagramInfoSize);
  }

  /** The ECN codepoint of datagram `index`, null if not reported (it needs `receiveEcn`). */
  ecn(index: number): Ecn | null {
    const trafficClass = this.trafficClass(index);
    return trafficClass === null ? null : ecnOf(trafficClass);
  }

  /** The whole traffic class (TOS) byte of datagram `index`, null if not reported. */
  trafficClass(index: number): number | null {
    this.#check(index);
    return decodeTrafficClass(this.#infoViewFor("trafficClass"), index * Layout.datagramInfoSize);
  }

  /**
   * Makes entry `index` (its peer set) go from `options.source` and with `options.ecn` (see
   * `SendOptions`); `{}` sends it plainly. Replaces what a receive left in its info.
   *
   * @example
   * ```ts
   * batch.set(0, bytes, peer);
   * batch.setSendInfo(0, { source: "127.0.0.2", ecn: "ect0" });
   * ```
   */
  setSendInfo(index: number, options: SendOptions): void {
    this.#check(index);
    const view = this.#infoViewFor("setSendInfo");
    const offset = index * Layout.datagramInfoSize;
    if (!encodeSendOptions(options, this.peer(index), view, offset, "DatagramBatch.setSendInfo")) this.clearInfo(index);
  }

  /**
   * Whether entry `index`'s reported destination can be a reply's source: reported, and one of
   * the host's own addresses, not a broadcast or multicast one (on macOS and FreeBSD a subnet's
   * broadcast address cannot be told from a unicast one).
   *
   * @example
   * ```ts
   * if (!batch.destinationIsUnicast(0)) batch.clearInfo(0); // reply from the kernel's choice
   * ```
   */
  destinationIsUnicast(index: number): boolean {
    this.#check(index);
    this.#infoViewFor("destinationIsUnicast");
    return destinationIsUnicast(this.infos!, index * Layout.datagramInfoSize);
  }

  /**
   * Makes entries `0` to `end - 1` go back from the destination they were received with where it
   * can be a source (see {@link destinationIsUnicast}), and forgets the info of the others, which
   * then go from the address the kernel picks: what an echo on a wildcard address does with a
   * batch it received, one pass over the info array.
   *
   * @example
   * ```ts
   * const count = yield* socket.recvBatch(batch); // a batch with info, on 0.0.0.0
   * batch.keepUnicastDestinations(count);
   * yield* socket.sendBatch(batch, count); // each reply from the address its datagram was sent to
   * ```
   */
  keepUnicastDestinations(end: number): void {
    const infos = this.infos;
    if (infos === null) this.#infoViewFor("keepUnicastDestinations");
    if (!Number.isInteger(end) || end < 0 || end > this.capacity) {
      throw new RangeError(`entry count ${end} is not a whole number from 0 to ${this.capacity}`);
    }
    const size = Layout.datagramInfoSize;
    for (let offset = 0; offset < end * size; offset += size) {
      if (!destinationIsUnicast(infos!, offset)) infos!.fill(0, offset, offset + size);
    }
  }

  /** Forgets entry `index`'s info: it is sent plainly, from the address the kernel picks. */
  clearInfo(index: number): void {
    this.infos?.fill(0, index * Layout.datagramInfoSize, (index + 1) * Layout.datagramInfoSize);
  }

  /** @internal The info array for a receive on a socket bound to `port` (undefined: none kept). */
  infosFor(port: number): Uint8Array | undefined {
    this.#localPort = port;
    return this.infos ?? undefined;
  }

  /** The info entries from `start` to `end` (undefined if the batch keeps none); see {@link payloadRange}. */
  infoRange(start: number, end: number): Uint8Array | undefined {
    const infos = this.infos;
    if (infos === null) return undefined;
    if (start === 0) return (this.#infoPrefixes[end] ??= infos.subarray(0, end * Layout.datagramInfoSize));
    return infos.subarray(start * Layout.datagramInfoSize, end * Layout.datagramInfoSize);
  }

  /** Fills slot `index` for sending `bytes` to `peer`, as one datagram (with no datagram info). */
  set(index: number, bytes: Uint8Array, peer: SocketAddress): void {
    this.#check(index);
    if (!(bytes instanceof Uint8Array)) {
      const name = typeof bytes === "object" && bytes !== null ? (bytes as object).constructor.name : String(bytes);
      throw new TypeError(`DatagramBatch.set: ${name} is not a Uint8Array`);
    }
    if (bytes.byteLength > this.slotSize) {
      throw new RangeError(`a datagram of ${bytes.byteLength} bytes does not fit a slot of ${this.slotSize}`);
    }
    // The peer first: a bad one is refused before the slot is touched.
    encodeAddress(peer, this.#view, index * Layout.datagramSize + Layout.datagramAddressOffset);
    this.payloads.set(bytes, index * this.slotSize);
    this.#words[index * ENTRY_WORDS] = bytes.byteLength;
    this.#words[index * ENTRY_WORDS + 1] = 0;
    this.clearInfo(index);
  }

  /** Moves datagram `from` (payload and entry) to slot `to`, to close gaps left by drops. */
  move(from: number, to: number): void {
    if (from === to) return;
    const slot = this.slotSize;
    this.payloads.copyWithin(to * slot, from * slot, from * slot + this.size(from));
    this.entries.copyWithin(to * Layout.datagramSize, from * Layout.datagramSize, (from + 1) * Layout.datagramSize);
    const size = Layout.datagramInfoSize;
    this.infos?.copyWithin(to * size, from * size, (from + 1) * size);
  }

  /**
   * Copies datagram `from` of `source` (payload, entry, and info if both keep it; else this
   * batch's entry `to` keeps none) into slot `to` of this batch.
   */
  copyFrom(source: DatagramBatch, from: number, to: number): void {
    const size = source.size(from);
    if (size > this.slotSize) throw new RangeError(`a datagram of ${size} bytes does not fit a slot of ${this.slotSize}`);
    const start = from * source.slotSize;
    this.payloads.set(source.payloads.subarray(start, start + size), to * this.slotSize);
    this.entries.set(
      source.entries.subarray(from * Layout.datagramSize, (from + 1) * Layout.datagramSize),
      to * Layout.datagramSize,
    );
    if (this.infos === null) return;
    const info = Layout.datagramInfoSize;
    if (source.infos === null) this.clearInfo(to);
    else this.infos.set(source.infos.subarray(from * info, (from + 1) * info), to * info);
  }

  /**
   * The slots from `start` to `end`, as the library's batch calls take them. The views of
   * ranges that start at 0, the usual case, are made once and reused, so that sending a batch
   * allocates nothing.
   */
  payloadRange(start: number, end: number): Uint8Array {
    if (start === 0) return (this.#payloadPrefixes[end] ??= this.payloads.subarray(0, end * this.slotSize));
    return this.payloads.subarray(start * this.slotSize, end * this.slotSize);
  }

  /** The entries from `start` to `end`; see {@link payloadRange}. */
  entryRange(start: number, end: number): Uint8Array {
    if (start === 0) return (this.#entryPrefixes[end] ??= this.entries.subarray(0, end * Layout.datagramSize));
    return this.entries.subarray(start * Layout.datagramSize, end * Layout.datagramSize);
  }
}
