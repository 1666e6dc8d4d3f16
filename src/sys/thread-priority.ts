/**
 * The scheduling of the threads beside the event loop's. JavaScriptCore compiles hot code on
 * threads of its own (named `JITWorker`), at the normal policy: where they share the event
 * loop's core (a process pinned to one core, a one-CPU container) each of their slices is a stall
 * of the loop, and one compile of a large function takes tens of milliseconds. Given the idle
 * policy (Linux's SCHED_IDLE), a compiler thread runs only when no other thread of its core is
 * ready to run, and never takes the core from one that wakes: the compiling is done in the gaps,
 * or on another core where there is one free.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { check } from "./errors.ts";
import { native } from "./ffi.ts";
import { ThreadSweep } from "./thread-sweep.ts";

/**
 * Gives thread `tid` of this process the idle scheduling policy. Throws a RangeError for a
 * `tid` that is not a thread id, and a {@link SystemError}: ESRCH if there is no such thread (any
 * more), EOPNOTSUPP where the OS has no such policy for one thread (macOS, FreeBSD).
 *
 * @example
 * ```ts
 * setThreadIdle(12345); // thread 12345 now runs only when its core is otherwise idle
 * ```
 */
export function setThreadIdle(tid: number): void {
  if (!Number.isInteger(tid) || tid < 1 || tid > 2 ** 31 - 1) {
    throw new RangeError(`thread id ${String(tid)} is not a whole number from 1 to 2147483647`);
  }
  check(native.br_thread_set_idle(tid), "sched_setscheduler", () => `Cannot give thread ${tid} the idle scheduling policy`);
}

/** How JavaScriptCore names its compiler threads (`/proc/self/task/TID/comm`). */
const COMPILER_THREAD = /^JITWorker/;

/** The compiler threads given the idle policy so far. */
const idled = new ThreadSweep();

/**
 * Gives each of JavaScriptCore's compiler threads the idle scheduling policy (see the module's
 * doc) that does not have it yet, and returns how many it changed. It finds them by name in
 * `/proc/self/task`: call it again now and then, as the engine may start more. Linux only: 0
 * elsewhere.
 *
 * @example
 * ```ts
 * runtime.blockOn(warmUp()); // compile at full speed first
 * idleCompilerThreads(); // then compile only in the event loop's gaps
 * ```
 */
export function idleCompilerThreads(): number {
  return idled.sweep("idle", (tid) => COMPILER_THREAD.test(threadName(tid)), setThreadIdle);
}

/** The name of thread `tid` of this process, or "" if it has just ended. */
function threadName(tid: number): string {
  try {
    return readFileSync(`/proc/self/task/${tid}/comm`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ESRCH") return "";
    throw error;
  }
}
