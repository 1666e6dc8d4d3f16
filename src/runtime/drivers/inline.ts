/**
 * The inline driver (the default): when no task is ready, the executor's own thread waits in
 * the poller (step 8) and hands what it gets to the reactor (step 9). One thread does
 * everything, with no handoff between threads.
 *
 * @module
 */
import { EventBuffer, type Poller } from "../../sys/poller.ts";
import type { Driver } from "../driver.ts";
import type { Reactor } from "../reactor.ts";
import type { Traced } from "../trace.ts";
import { traceOsEvents } from "./trace-events.ts";

/** Waits for the OS on the executor's thread. */
export class InlineDriver implements Driver {
  readonly name = "inline";
  readonly #poller: Poller;
  readonly #reactor: Reactor;
  readonly #traced: Traced;
  readonly #events: EventBuffer;

  constructor(poller: Poller, reactor: Reactor, traced: Traced, eventCapacity: number) {
    this.#poller = poller;
    this.#reactor = reactor;
    this.#traced = traced;
    this.#events = new EventBuffer(eventCapacity);
  }

  park(timeoutMs: number): void {
    const count = this.#poller.wait(this.#events, timeoutMs);
    const trace = this.#traced.trace;
    if (trace !== null) traceOsEvents(trace, this.#events, count, this.name);
    this.#reactor.dispatch(this.#events, count);
  }

  unpark(): void {
    this.#poller.wake();
  }

  close(): void {}
}
