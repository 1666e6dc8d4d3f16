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

/** Where the library writes the nanoseconds: one u64, 8-byte aligned, read as two 32-bit words. */
const words = new Uint32Array(new Float64Array(1).buffer);
/** Which word holds the low half (both platforms built are little-endian; this keeps it honest). */
const LOW = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

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
  check(native.br_thread_cpu_ns(words, words), "clock_gettime", () => "Cannot read this thread's CPU time");
  return (words[1 - LOW]! * 2 ** 32 + words[LOW]!) / 1e6;
}
