/**
 * JavaScriptCore's compiler threads, kept at the idle scheduling policy while udp-echo serves
 * (see `idleCompilerThreads`): where the process has one core, their compiling otherwise takes it
 * from the event loop in slices of milliseconds, which were most of the echo's RTT tail beyond
 * p99.9 at one datagram in flight. After the warm-up, which compiles at full speed.
 *
 * @module
 */
import { type Async, sleep } from "../index.ts";
import { idleCompilerThreads } from "../internals.ts";

/** How often the echo looks for compiler threads the engine has started since. */
export const COMPILER_THREADS_CHECK_MS = 5_000;

/**
 * Gives the compiler threads the idle policy now and every {@link COMPILER_THREADS_CHECK_MS}.
 * Where the OS refuses (a sandbox that forbids `sched_setscheduler`), it says so once through
 * `report` and ends: the threads keep the normal policy, and the echo serves on.
 *
 * @example
 * ```ts
 * const idler = spawn(keepCompilerThreadsIdle((line) => err(`udp-echo: ${line}`)), { name: "compiler threads" });
 * // … serve, then
 * idler.cancel();
 * ```
 */
export function* keepCompilerThreadsIdle(report: (line: string) => void): Async<void> {
  for (;;) {
    try {
      idleCompilerThreads();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      report(`warning: the JIT compiler's threads keep the normal scheduling policy: ${reason}`);
      return;
    }
    yield* sleep(COMPILER_THREADS_CHECK_MS);
  }
}
