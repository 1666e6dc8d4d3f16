/**
 * The threads of this process, swept now and then to apply a setting to the ones that do not
 * have it yet: the engine starts threads of its own at any time (a compiler thread, a collector
 * thread), so a setting for "every such thread" is applied again to the new ones. Linux only,
 * where `/proc/self/task` lists them.
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { SystemError } from "./errors.ts";

/**
 * Which threads have had a setting, by id, with the value they were given: pruned of the
 * threads gone at each sweep, so that a reused id gets the setting again.
 *
 * @example
 * ```ts
 * const idled = new ThreadSweep();
 * idled.sweep("idle", (tid) => isCompiler(tid), setThreadIdle); // the new compiler threads only
 * ```
 */
export class ThreadSweep {
  readonly #applied = new Map<number, string>();

  /**
   * Applies `apply` to each thread of this process that `wanted` selects and that has not had it
   * with `value` in an earlier sweep, and returns how many it changed. A thread that ends
   * meanwhile (ESRCH) is skipped. Linux only: 0 elsewhere.
   */
  sweep(value: string, wanted: (tid: number) => boolean, apply: (tid: number) => void): number {
    if (process.platform !== "linux") return 0;
    const listed = readdirSync("/proc/self/task").map(Number);
    const present = new Set(listed);
    for (const tid of this.#applied.keys()) if (!present.has(tid)) this.#applied.delete(tid);
    let changed = 0;
    for (const tid of listed) {
      if (this.#applied.get(tid) === value || !wanted(tid)) continue;
      try {
        apply(tid);
      } catch (error) {
        if (error instanceof SystemError && error.code === "ESRCH") continue; // it has just ended
        throw error;
      }
      this.#applied.set(tid, value);
      changed++;
    }
    return changed;
  }
}
