/**
 * Which CPUs each thread of this process may run on (Linux's `sched_setaffinity`). A process
 * pinned as a whole (`taskset -c 1`) shares its one core among all its threads: the event
 * loop's, JavaScriptCore's compiler and collector threads, a console's worker. Under a flood the
 * loop never sleeps, and the scheduler hands the core to one of the others until its next tick
 * (4 ms at HZ=250), idle policy or not: a stall of the loop. With the loop alone on its CPU and
 * the other threads on the rest, only the OS's own work takes the loop's core.
 *
 * @module
 */
import { check } from "./errors.ts";
import { native } from "./ffi.ts";
import { ThreadSweep } from "./thread-sweep.ts";

/** The CPUs a mask holds: Linux's `cpu_set_t`, 1,024 (CPU numbers 0 to 1023). */
export const CPUS_MAX = 1024;

/** The mask the library reads and writes, made once: bit `n % 8` of byte `n / 8` is CPU `n`. */
const mask = new Uint8Array(CPUS_MAX / 8);

/**
 * The calling thread's id, as `/proc/self/task` lists it. Throws a {@link SystemError}
 * (EOPNOTSUPP) where the OS gives none (macOS, FreeBSD).
 *
 * @example
 * ```ts
 * const loop = currentThreadId(); // then keep the other threads off its CPU
 * ```
 */
export function currentThreadId(): number {
  return check(native.br_thread_id(), "gettid", () => "Cannot read this thread's id");
}

/**
 * The CPUs thread `tid` of this process (0: the calling thread) may run on, in increasing
 * order. Throws a RangeError for a `tid` that is not a thread id, and a {@link SystemError}:
 * ESRCH if there is no such thread (any more), EOPNOTSUPP where the OS has no affinity per
 * thread (macOS, FreeBSD).
 *
 * @example
 * ```ts
 * threadCpus(); // [0, 1] on a two-core machine, [1] under `taskset -c 1`
 * ```
 */
export function threadCpus(tid = 0): number[] {
  checkThreadId(tid);
  check(native.br_thread_cpus(tid, mask, mask), "sched_getaffinity", () => `Cannot read the CPUs of ${describeThread(tid)}`);
  const cpus: number[] = [];
  for (let cpu = 0; cpu < CPUS_MAX; cpu++) if ((mask[cpu >> 3]! & (1 << (cpu & 7))) !== 0) cpus.push(cpu);
  return cpus;
}

/**
 * Lets thread `tid` of this process (0: the calling thread) run on `cpus` only. Throws a
 * RangeError for a `tid` that is not a thread id or a list that is empty or holds anything but
 * CPU numbers 0 to {@link CPUS_MAX} − 1, before any system call; and a {@link SystemError}:
 * EINVAL if none of `cpus` is one the thread may use (offline, or outside its cpuset), ESRCH if
 * there is no such thread, EOPNOTSUPP where the OS has no affinity per thread.
 *
 * @example
 * ```ts
 * setThreadCpus(0, [1]); // the calling thread now runs on CPU 1 alone
 * ```
 */
export function setThreadCpus(tid: number, cpus: readonly number[]): void {
  checkThreadId(tid);
  if (cpus.length === 0) throw new RangeError(`${describeThread(tid)} needs at least one CPU to run on`);
  mask.fill(0);
  for (const cpu of cpus) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= CPUS_MAX) {
      throw new RangeError(`CPU ${String(cpu)} is not a CPU number from 0 to ${CPUS_MAX - 1}`);
    }
    mask[cpu >> 3]! |= 1 << (cpu & 7);
  }
  check(
    native.br_thread_set_cpus(tid, mask, mask),
    "sched_setaffinity",
    () => `Cannot let ${describeThread(tid)} run on CPU${cpus.length === 1 ? "" : "s"} ${cpus.join(",")}`,
  );
}

/** The threads {@link keepThreadsOn} has placed, with the CPUs they were given. */
const placed = new ThreadSweep();

/**
 * Lets every thread of this process but those of `except` run on `cpus` only, and returns how
 * many it changed: threads already placed there by an earlier call are left alone. Call it again
 * now and then, as the engine starts threads of its own (a new thread starts on the CPUs of the
 * thread that made it). A thread that ends meanwhile is skipped. Linux only: 0 elsewhere.
 *
 * @example
 * ```ts
 * const loop = currentThreadId();
 * setThreadCpus(0, [1]);
 * keepThreadsOn([0], new Set([loop])); // the compiler, collector and worker threads on CPU 0
 * ```
 */
export function keepThreadsOn(cpus: readonly number[], except: ReadonlySet<number>): number {
  return placed.sweep(
    cpus.join(","),
    (tid) => !except.has(tid),
    (tid) => setThreadCpus(tid, cpus),
  );
}

function describeThread(tid: number): string {
  return tid === 0 ? "this thread" : `thread ${tid}`;
}

function checkThreadId(tid: number): void {
  if (!Number.isInteger(tid) || tid < 0 || tid > 2 ** 31 - 1) {
    throw new RangeError(`thread id ${String(tid)} is not 0 (this thread) or a whole number up to 2147483647`);
  }
}
