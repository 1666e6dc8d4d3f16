/**
 * The threads beside the echo's event loops: JavaScriptCore's compiler and collector threads, the
 * console's and the metrics server's. After the warm-up, which compiles at full speed:
 *
 * - the compiler threads get the idle policy (see `idleCompilerThreads`): where the process has
 *   one core, their compiling otherwise takes it from the event loop in slices of milliseconds,
 *   which were most of the echo's RTT tail beyond p99.9 at one datagram in flight;
 * - with `--cpu`, every thread but the event loops runs on the CPUs the loops leave (see
 *   `keepThreadsOn`): under a flood the loop never sleeps, and a thread of its core that the
 *   scheduler lets in keeps the core to its next tick, idle policy or not.
 *
 * The engine starts threads now and then (a new thread starts on its maker's CPUs), so this
 * looks again every {@link HELPER_THREADS_CHECK_MS}.
 *
 * @module
 */
import { type Async, sleep } from "../index.ts";
import { currentThreadId, idleCompilerThreads, keepThreadsOn, setThreadCpus, threadCpus } from "../internals.ts";

/** How often the echo looks for threads the engine has started since. */
export const HELPER_THREADS_CHECK_MS = 5_000;
/**
 * The first look again comes sooner: the ready line's full collection starts the collector's
 * thread, on the event loop's CPU, just after the first look.
 */
const FIRST_CHECK_AGAIN_MS = 500;

/** What {@link keepHelperThreads} keeps. */
export interface HelperThreadsOptions {
  /** Give the compiler threads the idle policy. */
  readonly idleCompilers: boolean;
  /** With `--cpu`: the event loops' thread ids, and the CPUs every other thread gets. */
  readonly placement: ThreadPlacement | null;
}

/** Where `--cpu` puts the threads: the loops each on its own CPU, the others on `cpus`. */
export interface ThreadPlacement {
  readonly loops: ReadonlySet<number>;
  readonly cpus: readonly number[];
}

/**
 * The CPUs left to the other threads when the event loops take `loopCpus`: those the process
 * may run on but the loops'. Throws an Error that names the flag: when one of `loopCpus` is not
 * one the process may run on, or where the OS has no affinity per thread (macOS, FreeBSD). Empty
 * when the loops take every CPU: the other threads then share them (see {@link keepHelperThreads}).
 *
 * @example
 * ```ts
 * cpusLeftBy([1]); // [0] on a two-core machine
 * ```
 */
export function cpusLeftBy(loopCpus: readonly number[]): number[] {
  const flag = `--cpu ${loopCpus.join(",")}`;
  let allowed: number[];
  try {
    allowed = threadCpus();
  } catch (error) {
    throw new Error(`${flag}: ${reasonOf(error)}`);
  }
  const refused = loopCpus.find((cpu) => !allowed.includes(cpu));
  if (refused !== undefined) {
    throw new Error(`${flag}: CPU ${refused} is not one this process may run on (it may use ${allowed.join(",")})`);
  }
  return allowed.filter((cpu) => !loopCpus.includes(cpu));
}

/**
 * Pins the calling thread, an event loop, to `cpu` alone, and returns its thread id (for
 * {@link ThreadPlacement.loops}). Throws an Error that names the flag where the OS refuses.
 *
 * @example
 * ```ts
 * const loops = new Set([pinEventLoop(1)]);
 * ```
 */
export function pinEventLoop(cpu: number): number {
  try {
    setThreadCpus(0, [cpu]);
    return currentThreadId();
  } catch (error) {
    throw new Error(`--cpu: ${reasonOf(error)}`); // (a sandbox that forbids sched_setaffinity: EPERM)
  }
}

/**
 * Keeps the helper threads as `options` says, now and every {@link HELPER_THREADS_CHECK_MS}.
 * Where the OS refuses (a sandbox that forbids `sched_setscheduler` or `sched_setaffinity`), it
 * says so once through `report` and stops doing that part: the echo serves on.
 *
 * @example
 * ```ts
 * const helpers = spawn(keepHelperThreads({ idleCompilers: true, placement: null }, report), { name: "helper threads" });
 * // … serve, then
 * helpers.cancel();
 * ```
 */
export function* keepHelperThreads(options: HelperThreadsOptions, report: (line: string) => void): Async<void> {
  let idleCompilers = options.idleCompilers;
  let placement = options.placement !== null && options.placement.cpus.length > 0 ? options.placement : null;
  if (options.placement !== null && placement === null) {
    report("warning: --cpu leaves no other CPU to this process: its other threads share the event loops' CPUs");
  }
  for (let again = FIRST_CHECK_AGAIN_MS; idleCompilers || placement !== null; again = HELPER_THREADS_CHECK_MS) {
    if (idleCompilers) {
      try {
        idleCompilerThreads();
      } catch (error) {
        report(`warning: the JIT compiler's threads keep the normal scheduling policy: ${reasonOf(error)}`);
        idleCompilers = false;
      }
    }
    if (placement !== null) {
      try {
        keepThreadsOn(placement.cpus, placement.loops);
      } catch (error) {
        report(`warning: the process's other threads stay on the event loops' CPUs: ${reasonOf(error)}`);
        placement = null;
      }
    }
    yield* sleep(again);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
