/**
 * Host names for `UdpSocket.bind`, `connect` and `sendTo`: {@link resolve} turns `"host:port"`
 * into a socket address, as a future, without blocking the runtime's thread.
 *
 * The socket's own calls take IP literals only, so the hot path never resolves: a name is
 * resolved once, where the program chooses, and the address reused. An IP literal never touches
 * the resolver (the future is ready at once). A name is looked up by `Bun.dns.lookup` on a
 * resolver thread (started on the first name, unreferenced so that it never keeps the process
 * alive), which wakes the runtime's poller when the answer is in: this works under every driver,
 * `blockOn` included.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { AddressError, checkPort, isHostName, parseHost, socketAddress, type SocketAddress } from "../sys/address.ts";
import type { Context } from "../runtime/context.ts";
import { Future, PENDING, type Poll, ready } from "../runtime/future.ts";
import { remoteCondition } from "../runtime/remote.ts";
import { ANSWER_TEXT_OFFSET, type LookupAnswer, type LookupRequest } from "./resolver-worker.ts";
import { RESOLVER_WORKER_URL } from "./locations.ts";
import { describeValue } from "./udp-types.ts";

/** Options of {@link resolve}. */
export interface ResolveOptions {
  /** Only addresses of this family (default: the first the resolver gives, IPv4 or IPv6). */
  readonly family?: 4 | 6;
}

/** A host name that did not resolve: `host` is the name, `code` the resolver's (`DNS_ENOTFOUND`). */
export class ResolveError extends Error {
  override readonly name = "ResolveError";
  readonly host: string;
  readonly code: string;

  constructor(host: string, code: string, detail: string) {
    super(`Cannot resolve host "${host}": ${detail} (${code})`);
    this.host = host;
    this.code = code;
  }
}

const ANSWER_BYTES = 4096;

let worker: Worker | null = null;
let lookups = 0;

/** @internal How many names were handed to the resolver thread: IP literals never are. */
export function resolverLookups(): number {
  return lookups;
}

/**
 * The socket address of `address` (`"host:port"`, `"[v6]:port"` or `{ host, port }`): at once
 * for an IP literal, after a lookup for a host name. The port and the name's form are checked
 * before anything is looked up; a name that does not resolve is a {@link ResolveError} naming it.
 *
 * @example
 * ```ts
 * function* main(): Async<void> {
 *   using socket = UdpSocket.bind(yield* resolve("localhost:0"));
 *   const server = yield* resolve("localhost:5353", { family: 4 }); // once, not per datagram
 *   yield* socket.sendTo(query, server);
 * }
 * ```
 */
export function resolve(
  address: string | { readonly host: string; readonly port: number },
  options: ResolveOptions = {},
): Future<SocketAddress> {
  const { host, port } = split(address);
  checkPort(port);
  const family = options.family;
  if (family !== undefined && family !== 4 && family !== 6)
    throw new RangeError(`resolve: family ${describeValue(family)} is not 4 or 6`);
  let literal: ReturnType<typeof parseHost> | null = null;
  try {
    literal = parseHost(host);
  } catch {
    // A host name, checked next.
  }
  if (literal !== null) {
    if (family !== undefined && literal.family !== family)
      throw new AddressError(`resolve: ${host} is not an IPv${family} address`);
    return ready(socketAddress(host, port));
  }
  if (!isHostName(host)) throw new AddressError(`resolve: "${host}" is neither an IP address nor a host name`);
  return new Lookup(host, port, family ?? 0);
}

function split(address: unknown): { host: string; port: number } {
  if (typeof address === "object" && address !== null) {
    const { host, port } = address as { host: unknown; port: unknown };
    if (typeof host === "string" && typeof port === "number") return { host, port };
  }
  if (typeof address === "string") {
    const match = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
    if (match !== null) return { host: match[1]!, port: Number(match[2]) };
  }
  throw new AddressError(`resolve: ${describeValue(address)} is not "host:port", "[v6]:port" or { host, port }`);
}

class Lookup extends Future<SocketAddress> {
  readonly #host: string;
  readonly #port: number;
  readonly #family: 0 | 4 | 6;
  #answer: SharedArrayBuffer | null = null;
  readonly #answered = remoteCondition(() => this.#answer !== null && Atomics.load(new Int32Array(this.#answer, 0, 1), 0) === 1);

  constructor(host: string, port: number, family: 0 | 4 | 6) {
    super();
    this.#host = host;
    this.#port = port;
    this.#family = family;
  }

  poll(cx: Context): Poll<SocketAddress> {
    if (this.#answer === null) {
      this.#answer = new SharedArrayBuffer(ANSWER_BYTES);
      const request: LookupRequest = {
        host: this.#host,
        family: this.#family,
        answer: this.#answer,
        wake: cx.runtime.reactor.pollerHandle,
      };
      lookups++;
      resolverThread().postMessage(request);
    }
    if (this.#answered.poll(cx) === PENDING) return PENDING;
    const words = new Int32Array(this.#answer, 0, 2);
    const text = new TextDecoder().decode(new Uint8Array(this.#answer, ANSWER_TEXT_OFFSET, Atomics.load(words, 1)));
    this.#answer = null;
    const answer = JSON.parse(text) as LookupAnswer;
    if ("code" in answer) throw new ResolveError(this.#host, answer.code, answer.message);
    const first = answer.addresses.find((entry) => this.#family === 0 || entry.family === this.#family);
    if (first === undefined) throw new ResolveError(this.#host, "DNS_ENOTFOUND", `no IPv${this.#family} address`);
    return socketAddress(first.address, this.#port);
  }

  override drop(): void {
    this.#answered.drop();
    this.#answer = null;
  }
}

function resolverThread(): Worker {
  if (worker === null) {
    worker = new Worker(RESOLVER_WORKER_URL);
    worker.unref();
  }
  return worker;
}

/**
 * Whether `peer` is `"name:port"` text naming a host, which {@link afterResolving} looks up,
 * rather than an address (text or object).
 */
export function namesHost(peer: unknown): peer is string {
  if (typeof peer !== "string") return false;
  const match = /^([^:[\]]+):\d+$/.exec(peer);
  return match !== null && isHostName(match[1]!);
}

/**
 * The future of `then(address)`, once `peer` (`"name:port"`) is looked up: how `sendTo` takes a
 * host name. The name is looked up once per future, on its first poll; each await after that
 * reuses the address. An IPv4 socket asks for IPv4 addresses; an IPv6 one takes either, an
 * IPv4 answer as its v4-mapped form.
 */
export function afterResolving<T>(peer: string, family: 4 | 6, then: (address: SocketAddress) => Future<T>): Future<T> {
  return new AfterResolving(resolve(peer, family === 4 ? { family } : {}), family, then);
}

class AfterResolving<T> extends Future<T> {
  readonly #lookup: Future<SocketAddress>;
  readonly #family: 4 | 6;
  readonly #then: (address: SocketAddress) => Future<T>;
  #address: SocketAddress | null = null;
  #next: Future<T> | null = null;

  constructor(lookup: Future<SocketAddress>, family: 4 | 6, then: (address: SocketAddress) => Future<T>) {
    super();
    this.#lookup = lookup;
    this.#family = family;
    this.#then = then;
  }

  poll(cx: Context): Poll<T> {
    if (this.#address === null) {
      const found = this.#lookup.poll(cx);
      if (found === PENDING) return PENDING;
      this.#address = this.#family === 6 && found.family === 4 ? socketAddress(`::ffff:${found.host}`, found.port) : found;
    }
    const next = (this.#next ??= this.#then(this.#address));
    const value = next.poll(cx);
    if (value !== PENDING) this.#next = null;
    return value;
  }

  override drop(): void {
    this.#lookup.drop();
    this.#next?.drop();
    this.#next = null;
  }
}
