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
import { AddressError, checkPort, parseHost, socketAddress, type SocketAddress } from "../sys/address.ts";
import { workerModuleUrl } from "../sys/locations.ts";
import type { Context } from "../runtime/context.ts";
import { Future, PENDING, type Poll, ready } from "../runtime/future.ts";
import { remoteCondition } from "../runtime/remote.ts";
import { ANSWER_TEXT_OFFSET, type LookupAnswer, type LookupRequest } from "./resolver-worker.ts";
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
const HOST_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

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
  if (!HOST_NAME.test(host)) throw new AddressError(`resolve: "${host}" is neither an IP address nor a host name`);
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
    worker = new Worker(workerModuleUrl("net/resolver-worker"));
    worker.unref();
  }
  return worker;
}
