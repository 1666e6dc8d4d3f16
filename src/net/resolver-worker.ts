/**
 * The resolver thread (a Bun `Worker`): looks host names up with `Bun.dns.lookup` off the
 * runtime's thread, writes each answer into the request's shared memory and wakes the
 * requesting runtime's poller, so that a runtime blocked in `blockOn` (which runs no Promise
 * reactions) learns of it too. Started by `resolve.ts` on the first host name, never for an IP
 * literal.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { Poller, type PollerHandle } from "../sys/poller.ts";

/** One lookup: the host, the family wanted (0 for either), where to answer, whom to wake. */
export interface LookupRequest {
  readonly host: string;
  readonly family: 0 | 4 | 6;
  /** `[state, length]` as Int32 (state 0 pending, 1 answered), then the answer as JSON text. */
  readonly answer: SharedArrayBuffer;
  readonly wake: PollerHandle;
}

/** The JSON answer: the addresses found, or the resolver's error code and message. */
export type LookupAnswer =
  { readonly addresses: { address: string; family: 4 | 6 }[] } | { readonly code: string; readonly message: string };

/** Where the JSON text of the answer starts in `LookupRequest.answer`. */
export const ANSWER_TEXT_OFFSET = 8;

async function lookup(request: LookupRequest): Promise<void> {
  let answer: LookupAnswer;
  try {
    const found = await Bun.dns.lookup(request.host, request.family === 0 ? {} : { family: request.family });
    answer = { addresses: found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 })) };
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    answer = { code: code ?? "EAI_FAIL", message: message ?? String(error) };
  }
  const text = new TextEncoder().encode(JSON.stringify(answer));
  const room = request.answer.byteLength - ANSWER_TEXT_OFFSET;
  const bytes =
    text.byteLength <= room ? text : new TextEncoder().encode(JSON.stringify({ code: "E2BIG", message: "answer too long" }));
  new Uint8Array(request.answer, ANSWER_TEXT_OFFSET).set(bytes);
  const words = new Int32Array(request.answer, 0, 2);
  Atomics.store(words, 1, bytes.byteLength);
  Atomics.store(words, 0, 1);
  Poller.borrow(request.wake).wake();
}

parentPort?.on("message", (request: LookupRequest) => void lookup(request));
