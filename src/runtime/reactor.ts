/**
 * The reactor: the seed's map from token to status, kept per direction (steps 6 and 9).
 *
 * For each registered source and each direction (read, write) the status is one of:
 * - idle: nothing happened and nobody waits;
 * - `Happened`: the OS reported readiness that nobody has consumed yet;
 * - `Awaited(waker)`: a task found the source would block and waits for the OS.
 *
 * As in the seed, an event that comes before anyone waits is remembered (`Happened`), and a
 * waiter that comes first is woken by the event. Unlike the seed, which keeps one status per
 * token, the two directions are separate, so that a task reading and another writing on one
 * socket are both woken. Tokens are never reused, so an event for a source that has since been
 * deregistered finds no entry and wakes nobody.
 *
 * @module
 */
import { EVENT_ERROR, EVENT_HANGUP, EVENT_READABLE, EVENT_WRITABLE } from "../sys/abi.ts";
import { asToken, type EventBuffer, type Fd, Interest, type Poller, type PollerHandle, type Token } from "../sys/poller.ts";
import type { Context } from "./context.ts";
import { type Direction, type Traced, traceEvent } from "./trace.ts";
import type { Waker } from "./waker.ts";

/** The seed's `Status::Happened`. */
const HAPPENED = 1;

/**
 * A future waiting in the reactor (the seed's `Status::Awaited(waker)`): the waker to wake,
 * and whether the entry is stored in a status now. Each waiting future has its own entry, so
 * that two futures of one task waiting on one socket and direction are tracked apart: when
 * one is dropped, the other still waits.
 */
export interface Waiter {
  waker: Waker | null;
  stored: boolean;
}

/** A future waiting for a wake from another thread (see `Reactor.awaitRemoteWake`). */
export interface RemoteWaiter {
  readonly waker: Waker;
}

/** A direction's status: idle (null), happened, or awaited by one waiter or several. */
type Status = null | typeof HAPPENED | Waiter | Waiter[];

/** The index of the read direction in a registration's statuses. */
export const READ = 0;
/** The index of the write direction in a registration's statuses. */
export const WRITE = 1;
/** A direction, as an index into a registration's statuses. */
export type DirectionIndex = typeof READ | typeof WRITE;

const directionNames: readonly Direction[] = ["read", "write"];

/** Something the runtime closes if it is still open when the runtime closes. */
export interface Closeable {
  close(): void;
}

/** A source registered with the reactor under its token. */
export class Registration {
  readonly token: Token;
  readonly fd: Fd;
  /** `statuses[READ]` and `statuses[WRITE]`. */
  readonly statuses: [Status, Status] = [null, null];
  /** The object that owns the descriptor, closed by `Runtime.close` if still open. */
  readonly owner: Closeable | null;

  constructor(token: Token, fd: Fd, owner: Closeable | null) {
    this.token = token;
    this.fd = fd;
    this.owner = owner;
  }
}

/**
 * The registration of a descriptor that is opened outside any runtime and registered with the
 * reactor of the runtime that first waits on it (sockets, the signal descriptor).
 */
export class LazyRegistration {
  #reactor: Reactor | null = null;
  #registration: Registration | null = null;

  /** Whether the descriptor is registered now. */
  get registered(): boolean {
    return this.#registration !== null;
  }

  /** The registration in `reactor`, made on first use. A second runtime is refused. */
  get(reactor: Reactor, fd: Fd, owner: Closeable): Registration {
    if (this.#registration === null) {
      this.#registration = reactor.register(fd, owner);
      this.#reactor = reactor;
    } else if (this.#reactor !== reactor) {
      throw new RegistrationError(`descriptor ${fd} is registered with another runtime: a source belongs to one runtime`);
    }
    return this.#registration;
  }

  /** Deregisters the descriptor, if it is registered; call it before closing the descriptor. */
  release(): void {
    if (this.#registration === null) return;
    const registration = this.#registration;
    this.#registration = null;
    this.#reactor!.deregister(registration);
  }
}

/** A descriptor registered twice, or a registration used after it was removed. */
export class RegistrationError extends Error {
  override readonly name = "RegistrationError";
}

function waitersOf(status: Status): readonly Waiter[] {
  if (status === null || status === HAPPENED) return [];
  return Array.isArray(status) ? status : [status];
}

/** A direction of a registration as {@link Reactor.snapshot} sees it. */
export type StatusSnapshot =
  | { readonly status: "idle" }
  | { readonly status: "happened" }
  | { readonly status: "awaited"; readonly wakers: readonly Waker[] };

/** A registration as {@link Reactor.snapshot} sees it: copies, for a viewer such as the console. */
export interface RegistrationSnapshot {
  readonly token: number;
  readonly fd: number;
  readonly owner: Closeable | null;
  readonly read: StatusSnapshot;
  readonly write: StatusSnapshot;
}

function statusSnapshot(status: Status): StatusSnapshot {
  if (status === null) return { status: "idle" };
  if (status === HAPPENED) return { status: "happened" };
  return { status: "awaited", wakers: waitersOf(status).map((waiter) => waiter.waker!) };
}

/** Maps tokens to the tasks waiting on them, and wakes those tasks when the OS reports events. */
export class Reactor {
  readonly #poller: Poller;
  readonly #traced: Traced;
  readonly #sources = new Map<Token, Registration>();
  readonly #tokensByFd = new Map<Fd, Token>();
  #nextToken = 1;
  #waiters = 0;
  #remoteWaiters = new Set<RemoteWaiter>();
  #wakingRemote = false;

  /** @param traced where to read the trace hook (the runtime). */
  constructor(poller: Poller, traced: Traced) {
    this.#poller = poller;
    this.#traced = traced;
  }

  /** How many sources are registered. */
  get registrations(): number {
    return this.#sources.size;
  }

  /** How many wakers the reactor holds: tasks that only an OS event (or a remote wake) can wake. */
  get waiters(): number {
    return this.#waiters + this.#remoteWaiters.size;
  }

  /** The poller's descriptors, for another thread to wake it (`Poller.borrow(handle).wake()`). */
  get pollerHandle(): PollerHandle {
    return this.#poller.handle;
  }

  /** Whether the wakes happening now are remote wakes (another thread woke the poller). */
  get wakingRemote(): boolean {
    return this.#wakingRemote;
  }

  /**
   * Every registration (the first `limit` of them) and the status of each of its directions, in
   * token order: a read-only view for a viewer such as the console, which calls it between polls.
   *
   * @example
   * ```ts
   * for (const entry of runtime.reactor.snapshot()) console.log(entry.token, entry.fd, entry.read.status);
   * ```
   */
  snapshot(limit = Number.POSITIVE_INFINITY): RegistrationSnapshot[] {
    const entries: RegistrationSnapshot[] = [];
    for (const registration of this.#sources.values()) {
      if (entries.length >= limit) break;
      entries.push({
        token: registration.token,
        fd: registration.fd,
        owner: registration.owner,
        read: statusSnapshot(registration.statuses[READ]),
        write: statusSnapshot(registration.statuses[WRITE]),
      });
    }
    return entries;
  }

  /** The wakers waiting for a remote wake (`remoteCondition`), for the same viewers. */
  remoteWakers(): readonly Waker[] {
    return [...this.#remoteWaiters].map((waiter) => waiter.waker);
  }

  /** Registers `fd` for edge-triggered readiness in both directions under a new token. */
  register(fd: Fd, owner: Closeable | null, interest: Interest = Interest.BOTH): Registration {
    const existing = this.#tokensByFd.get(fd);
    if (existing !== undefined) {
      throw new RegistrationError(`Cannot register descriptor ${fd}: it is already registered under token ${existing}`);
    }
    const token = asToken(this.#nextToken++);
    this.#poller.register(fd, token, interest);
    const registration = new Registration(token, fd, owner);
    this.#sources.set(token, registration);
    this.#tokensByFd.set(fd, token);
    return registration;
  }

  /**
   * Removes a registration and its statuses. Call it before closing the descriptor. The futures
   * that were waiting are woken: their next attempt finds the source closed and says so.
   */
  deregister(registration: Registration): void {
    if (this.#sources.get(registration.token) !== registration) {
      throw new RegistrationError(`Cannot deregister token ${registration.token}: it is not registered`);
    }
    this.#sources.delete(registration.token);
    this.#tokensByFd.delete(registration.fd);
    if (!this.#poller.closed) this.#poller.deregister(registration.fd);
    for (const index of [READ, WRITE] as const) {
      const waiters = waitersOf(registration.statuses[index]);
      registration.statuses[index] = null;
      this.#wakeAll(waiters);
    }
  }

  /** The owners of every registration still open, for `Runtime.close`. */
  owners(): Closeable[] {
    return [...this.#sources.values()].flatMap((registration) => (registration.owner === null ? [] : [registration.owner]));
  }

  /**
   * Steps 5 and 6, the seed's `Reactor::poll`: called by a future whose system call would
   * block. If an event already happened in `direction`, consumes it and returns true: the
   * caller retries its system call. Otherwise stores the future's `waiter`, with the task's
   * waker, under the token and returns false: the caller returns pending.
   */
  poll(registration: Registration, direction: DirectionIndex, waiter: Waiter, cx: Context): boolean {
    const trace = this.#traced.trace;
    if (trace !== null)
      trace(traceEvent("reactor-poll", { task: cx.taskId, token: registration.token, direction: directionNames[direction]! }));
    const status = registration.statuses[direction];
    if (status === HAPPENED) {
      registration.statuses[direction] = null;
      return true;
    }
    if (this.#sources.get(registration.token) !== registration) {
      throw new RegistrationError(`token ${registration.token} is no longer registered (its socket was closed)`);
    }
    waiter.waker = cx.waker;
    if (!waiter.stored) {
      waiter.stored = true;
      this.#waiters++;
      if (status === null) registration.statuses[direction] = waiter;
      else if (Array.isArray(status)) status.push(waiter);
      else registration.statuses[direction] = [status, waiter];
    }
    if (trace !== null)
      trace(traceEvent("waker-stored", { task: cx.taskId, token: registration.token, direction: directionNames[direction]! }));
    return false;
  }

  /** Removes a waiting future's entry: the future was dropped, or has its answer. */
  forget(registration: Registration, direction: DirectionIndex, waiter: Waiter): void {
    if (!waiter.stored) return;
    waiter.stored = false;
    this.#waiters--;
    const status = registration.statuses[direction];
    if (status === waiter) {
      registration.statuses[direction] = null;
    } else if (Array.isArray(status)) {
      const index = status.indexOf(waiter);
      if (index !== -1) status.splice(index, 1);
      if (status.length === 1) registration.statuses[direction] = status[0]!;
    }
  }

  /** Step 9: handles `count` events from the poller, waking the tasks that wait on them. */
  dispatch(events: EventBuffer, count: number): void {
    for (let index = 0; index < count; index++) {
      if (events.isWaker(index)) {
        this.#wakeRemoteWaiters();
        continue;
      }
      const registration = this.#sources.get(events.token(index));
      if (registration === undefined) continue; // deregistered since: tokens are never reused
      const flags = events.flags(index);
      // An error or hang-up concerns both directions: whoever tries I/O next meets it.
      const failed = (flags & (EVENT_ERROR | EVENT_HANGUP)) !== 0;
      if (failed || (flags & EVENT_READABLE) !== 0) this.#happen(registration, READ);
      if (failed || (flags & EVENT_WRITABLE) !== 0) this.#happen(registration, WRITE);
    }
  }

  /** Sets the status to `Happened` and wakes whoever awaited it (steps 9 and 10). */
  #happen(registration: Registration, direction: DirectionIndex): void {
    const status = registration.statuses[direction];
    registration.statuses[direction] = HAPPENED;
    const trace = this.#traced.trace;
    if (trace !== null) {
      const waiting = waitersOf(status).length;
      const detail = waiting > 0 ? `was awaited by ${waiting} waker(s)` : "nobody waits yet";
      trace(traceEvent("happened", { token: registration.token, direction: directionNames[direction]!, detail }));
    }
    if (status === null || status === HAPPENED) return;
    if (Array.isArray(status)) this.#wakeAll(status);
    else this.#wakeOne(status);
  }

  #wakeOne(waiter: Waiter): void {
    waiter.stored = false;
    this.#waiters--;
    waiter.waker!.wake();
  }

  #wakeAll(waiters: readonly Waiter[]): void {
    for (const waiter of waiters) this.#wakeOne(waiter);
  }

  /**
   * Keeps `waiter` until the poller's own waker fires, that is, until another thread calls
   * `Driver.unpark` (see `remote.ts`); then wakes its waker. Each waiting future keeps an entry
   * of its own, so that two futures of one task are tracked apart: when one is dropped, the
   * other still waits.
   */
  awaitRemoteWake(waiter: RemoteWaiter): void {
    this.#remoteWaiters.add(waiter);
  }

  /** Removes a waiting future's entry: it was dropped, or has its answer. */
  forgetRemoteWake(waiter: RemoteWaiter): void {
    this.#remoteWaiters.delete(waiter);
  }

  #wakeRemoteWaiters(): void {
    const waiters = [...this.#remoteWaiters];
    this.#remoteWaiters.clear();
    this.#wakingRemote = true;
    try {
      for (const waiter of waiters) waiter.waker.wake();
    } finally {
      this.#wakingRemote = false;
    }
  }

  /**
   * The reactor's invariants, checked by the chaos test between turns: the count of waiting
   * futures equals the entries stored in the statuses, and every stored entry knows it is
   * stored. Returns what is wrong, empty when all hold. Walks every registration: for tests.
   */
  checkInvariants(): string[] {
    const problems: string[] = [];
    let stored = 0;
    for (const registration of this.#sources.values()) {
      registration.statuses.forEach((status, direction) => {
        for (const waiter of waitersOf(status)) {
          stored++;
          if (!waiter.stored) {
            problems.push(`token ${registration.token} ${directionNames[direction]}: an entry is kept but not marked stored`);
          }
        }
      });
    }
    if (stored !== this.#waiters)
      problems.push(`the reactor counts ${this.#waiters} waiting futures but stores ${stored} entries`);
    return problems;
  }
}
