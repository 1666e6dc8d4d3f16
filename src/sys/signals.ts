/**
 * Process signals as a readable descriptor (the library's self-pipe), so that a task can wait
 * for SIGINT or SIGTERM through the reactor like for any other source.
 *
 * @module
 */
import { constants } from "node:os";
import { check, Errno } from "./errors.ts";
import { native } from "./ffi.ts";
import type { Fd } from "./poller.ts";

/** The signals that can be watched, to check names given at run time. */
export const WATCHED_SIGNALS = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGWINCH"] as const;

/** A signal that can be watched: one of {@link WATCHED_SIGNALS}. */
export type WatchedSignal = (typeof WATCHED_SIGNALS)[number];

const byNumber = new Map<number, WatchedSignal>();

/**
 * Starts watching `signals`; returns the descriptor that yields one byte per signal received.
 * One watch per process at a time.
 */
export function signalsOpen(signals: readonly WatchedSignal[]): Fd {
  let mask = 0;
  for (const name of signals) {
    const number = constants.signals[name];
    byNumber.set(number, name);
    mask |= 1 << number;
  }
  return check(native.br_signals_open(mask >>> 0), "sigaction", () => `Cannot watch ${signals.join(", ")}`) as Fd;
}

/** Restores the signals' previous handlers and closes the descriptor. */
export function signalsClose(fd: number): void {
  check(native.br_signals_close(fd), "sigaction", () => `Cannot stop watching signals on descriptor ${fd}`);
}

const signalBytes = new Uint8Array(64);

/** The signals received since the last call, oldest first; empty if none. */
export function signalsTake(fd: number): WatchedSignal[] {
  const received: WatchedSignal[] = [];
  for (;;) {
    const rc = native.br_read(fd, signalBytes, signalBytes);
    if (rc === -Errno.EAGAIN || rc === 0) return received;
    check(rc, "read", () => `Cannot read the signal descriptor ${fd}`);
    for (const number of signalBytes.subarray(0, rc)) {
      const name = byNumber.get(number);
      if (name !== undefined) received.push(name);
    }
  }
}
