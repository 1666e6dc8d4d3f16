/**
 * The thread driver: the seed's shape. A reactor thread (`reactor-thread.ts`) waits for the OS
 * (step 8) and hands the events over; the executor sleeps while it has nothing to run and is
 * woken by that handoff, then lets the reactor handle the events on its own thread (step 9),
 * since the map of wakers lives with the tasks. While the executor has tasks to run it checks
 * the OS itself, without blocking, and the reactor thread sleeps: a thread switch per batch of
 * events would cost more than the check (and, embedded, take CPU from the host's thread).
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { SystemError } from "../../sys/errors.ts";
import { EventBuffer, type Poller } from "../../sys/poller.ts";
import type { Driver } from "../driver.ts";
import type { Reactor } from "../reactor.ts";
import type { Traced } from "../trace.ts";
import { COUNT, Handoff, type HandoffInit, HandoffState, STARTED, STATE } from "./handoff.ts";
import { REACTOR_THREAD_URL } from "./locations.ts";
import { traceOsEvents } from "./trace-events.ts";

/** How long `close` waits for the reactor thread to leave its wait before terminating it. */
const STOP_WAIT_MS = 2000;
/** How long the reactor thread may take to start before the driver gives up on it. */
const START_WAIT_MS = 10_000;

/** Waits for the OS on a reactor thread; the executor sleeps until the thread hands events over. */
export class ThreadDriver implements Driver {
  readonly name = "thread";
  readonly #poller: Poller;
  readonly #reactor: Reactor;
  readonly #traced: Traced;
  readonly #handoff: Handoff;
  /** The events of the executor's own checks of the OS (the handoff's belong to the thread). */
  readonly #events: EventBuffer;
  readonly #worker: Worker;
  readonly #createdAt = performance.now();
  #started = false;
  #closed = false;
  #terminated: Promise<unknown> | null = null;
  #referenced = false;

  constructor(poller: Poller, reactor: Reactor, traced: Traced, eventCapacity: number) {
    this.#poller = poller;
    this.#reactor = reactor;
    this.#traced = traced;
    this.#handoff = Handoff.allocate(eventCapacity);
    this.#events = new EventBuffer(eventCapacity);
    const init: HandoffInit = { memory: this.#handoff.memory, capacity: eventCapacity, poller: poller.handle };
    this.#worker = new Worker(REACTOR_THREAD_URL, { workerData: init });
    // The reactor thread alone must not keep the process alive.
    this.#worker.unref();
  }

  /** The handoff, for a host that waits for it without blocking (see `embedded-host.ts`). */
  get handoff(): Handoff {
    return this.#handoff;
  }

  /**
   * Takes the events the reactor thread handed over, if any; otherwise, with tasks ready
   * (`timeoutMs` 0), checks the OS itself without blocking while the reactor thread sleeps;
   * otherwise lets the reactor thread wait for the OS and sleeps until it hands events over (or
   * time runs out).
   */
  park(timeoutMs: number): void {
    const state = this.#handoff.state;
    if (state === HandoffState.ready) return this.#takeEvents();
    if (state === HandoffState.failed) this.#fail();
    if (timeoutMs === 0) return this.#checkOs();
    this.letThreadWait();
    this.#sleep(timeoutMs);
  }

  /**
   * Lets the reactor thread wait for the OS (the handoff's PAUSED → WAITING): the executor has
   * nothing to run and is about to wait for it. Does nothing if it waits already.
   */
  letThreadWait(): void {
    this.#handoff.transition(HandoffState.paused, HandoffState.waiting);
  }

  /** Sleeps until the reactor thread hands events over or `timeoutMs` passes, then takes them. */
  #sleep(timeoutMs: number): void {
    const handoff = this.#handoff;
    const deadlineMs = timeoutMs < 0 ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      // Until the thread has shown it runs, sleep in short steps, so that one that never
      // starts is an error (after START_WAIT_MS) rather than a wait without end; one that is
      // slow to start (a loaded machine) is waited for.
      const started = this.#checkStarted();
      const leftMs = deadlineMs - performance.now();
      if (leftMs <= 0) break;
      const woken = Atomics.wait(handoff.control, STATE, HandoffState.waiting, started ? leftMs : Math.min(leftMs, 100));
      if (woken !== "timed-out" || started) break;
    }
    const state = handoff.state;
    if (state === HandoffState.ready) this.#takeEvents();
    else if (state === HandoffState.failed) this.#fail();
  }

  #checkStarted(): boolean {
    if (this.#started) return true;
    this.#started = Atomics.load(this.#handoff.control, STARTED) === 1;
    if (!this.#started && performance.now() - this.#createdAt > START_WAIT_MS) {
      throw new Error(`the reactor thread did not start within ${START_WAIT_MS} ms`);
    }
    return this.#started;
  }

  /**
   * Step 9 for a batch the reactor thread handed over; it then sleeps (PAUSED) until the
   * executor runs out of work and lets it wait again.
   */
  #takeEvents(): void {
    const handoff = this.#handoff;
    this.#dispatch(handoff.events, handoff.control[COUNT]!);
    handoff.transition(HandoffState.ready, HandoffState.paused);
  }

  /** Steps 8 and 9 on the executor's thread, without blocking: the events already there. */
  #checkOs(): void {
    this.#dispatch(this.#events, this.#poller.wait(this.#events, 0));
  }

  #dispatch(events: EventBuffer, count: number): void {
    const trace = this.#traced.trace;
    if (trace !== null) traceOsEvents(trace, events, count, this.name);
    this.#reactor.dispatch(events, count);
  }

  #fail(): never {
    throw new SystemError("poller_wait", this.#handoff.control[COUNT]!, "The reactor thread cannot wait for events");
  }

  unpark(): void {
    this.#poller.wake();
  }

  /**
   * Stops the reactor thread: wakes it out of its wait and waits until it has left, so that it
   * never touches the poller after it is closed. A thread that has not started yet will find
   * the stop before it first touches the poller (it marks STARTED before it reads the state).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const handoff = this.#handoff;
    const previous = Atomics.exchange(handoff.control, STATE, HandoffState.stop);
    Atomics.notify(handoff.control, STATE);
    // A thread that failed has left already; one that has not started finds the stop first.
    const running = previous !== HandoffState.failed && previous !== HandoffState.stopped;
    if (running) this.#poller.wake();
    if (running && Atomics.load(handoff.control, STARTED) === 1) {
      const deadline = performance.now() + STOP_WAIT_MS;
      for (let state = handoff.state; state === HandoffState.stop; state = handoff.state) {
        const leftMs = deadline - performance.now();
        if (leftMs <= 0) break;
        Atomics.wait(handoff.control, STATE, HandoffState.stop, leftMs);
      }
    }
    this.#terminated = this.#worker.terminate();
  }

  /** Resolves when the reactor thread has ended (after {@link close}). */
  async terminated(): Promise<void> {
    await this.#terminated;
  }

  /** Whether the reactor thread keeps the process alive; by default it does not. */
  keepAlive(alive: boolean): void {
    if (alive === this.#referenced || this.#closed) return;
    this.#referenced = alive;
    if (alive) this.#worker.ref();
    else this.#worker.unref();
  }
}
