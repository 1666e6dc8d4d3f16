/**
 * The calling thread's CPU time, from the OS's clock of it (`CLOCK_THREAD_CPUTIME_ID`), which
 * the kernel brings up to date at each read. `process.threadCpuUsage()` is not that on Linux:
 * it is only as fresh as the last scheduler tick (4 ms at HZ=250): measured, 0.3 ms of spinning
 * read as 0 ms a third of the time and as up to 3.9 ms at the other end, which makes it useless
 * for timing one poll.
 *
 * @module
 */
import { check } from "./errors.ts";
import { native } from "./ffi.ts";

/**
 * Where the library writes the nanoseconds, as a double. Two 32-bit halves of a u64 were read
 * as int32 by the compiled code until the low half first passed 2^31 (every 4.3 s of CPU time),
 * when that code was thrown away and compiled again, in the middle of the service.
 */
const nanoseconds = new Float64Array(1);

/**
 * The CPU time the calling thread has used, user and system, in milliseconds (nanosecond
 * resolution). One system call, about 0.3 µs; allocates nothing.
 *
 * @example
 * ```ts
 * const startedMs = threadCpuMs();
 * work();
 * console.log(`${(threadCpuMs() - startedMs).toFixed(3)} ms of this thread's CPU`);
 * ```
 */
export function threadCpuMs(): number {
  check(native.br_thread_cpu_ns(nanoseconds, nanoseconds), "clock_gettime", () => "Cannot read this thread's CPU time");
  return nanoseconds[0]! / 1e6;
}
