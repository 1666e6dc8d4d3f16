/**
 * What every workload process of `bench/runtime.ts` shares: resident memory from /proc, the
 * workloads' names and sizes, how many times a process runs its workload, and the JSON line
 * each run prints.
 *
 * @module
 */

/** The workloads, each run in a fresh process. */
export const WORKLOADS = ["yield", "spawn", "pingpong", "sleep", "timers", "select"] as const;

/** One of {@link WORKLOADS}. */
export type Workload = (typeof WORKLOADS)[number];

/** What one run of a workload prints: its wall time, how many operations that covered, memory. */
export interface Measured {
  readonly wallMs: number;
  readonly ops: number;
  /**
   * Peak resident memory (VmHWM) at the end minus resident memory (VmRSS) at the start. Only a
   * process's first run says what the workload costs: VmHWM is the peak of the process's whole
   * life, and later runs reuse the memory earlier ones freed.
   */
  readonly rssGrowthBytes: number;
}

/** The most runs one process may make (warm-up runs and the measured one). */
export const RUNS_MAX = 100;

/**
 * How many times a process runs its workload, from its first argument: the warm-up runs, then
 * the measured one (1: the measured run is the process's first, cold).
 */
export function runsOf(given: string | undefined, usage: string): number {
  const runs = Number(given);
  if (!Number.isInteger(runs) || runs < 1 || runs > RUNS_MAX) {
    throw new RangeError(`${usage}: runs "${given}" is not a whole number from 1 to ${RUNS_MAX}`);
  }
  return runs;
}

/** A field of /proc/self/status in bytes (`VmRSS:`, `VmHWM:`); 0 where there is no /proc. */
export async function statusBytes(field: "VmRSS:" | "VmHWM:"): Promise<number> {
  try {
    const status = await Bun.file("/proc/self/status").text();
    const line = status.split("\n").find((entry) => entry.startsWith(field));
    return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** The sleep of task `index` in the sleeping-tasks workload: 200 to 249 ms, as in the issue. */
export function sleepMs(index: number): number {
  return 200 + (index % 50);
}

/** The deadline of timer `index` in the timers workload: spread over 1 to 10 s, never due. */
export function timerMs(index: number): number {
  return 1000 + ((index * 7919) % 9000);
}

/** The sizes given after the workload's name, as whole numbers >= 1. */
export function sizes(args: string[], count: number, usage: string): number[] {
  const values = args.slice(0, count).map(Number);
  if (values.length !== count || !values.every((value) => Number.isInteger(value) && value >= 1)) {
    throw new RangeError(`${usage}: expected ${count} whole number(s) >= 1, got "${args.join(" ")}"`);
  }
  return values;
}

/** One runtime's implementation of every workload, each returning how many operations it did. */
export interface Workloads<R> {
  yields(tasks: number, count: number): R;
  spawns(tasks: number): R;
  pingPong(rounds: number): R;
  sleepers(tasks: number): R;
  timers(count: number): R;
  selectRecv(rounds: number): R;
}

/** Runs workload `name` of `implementation` with the sizes in `args` (checked, named in errors by `usage`). */
export function dispatch<R>(name: Workload, args: string[], usage: string, implementation: Workloads<R>): R {
  switch (name) {
    case "yield": {
      const [tasks, count] = sizes(args, 2, usage);
      return implementation.yields(tasks!, count!);
    }
    case "spawn":
      return implementation.spawns(sizes(args, 1, usage)[0]!);
    case "pingpong":
      return implementation.pingPong(sizes(args, 1, usage)[0]!);
    case "sleep":
      return implementation.sleepers(sizes(args, 1, usage)[0]!);
    case "timers":
      return implementation.timers(sizes(args, 1, usage)[0]!);
    case "select":
      return implementation.selectRecv(sizes(args, 1, usage)[0]!);
    default:
      throw new RangeError(`workload "${String(name)}" is not one of ${WORKLOADS.join(", ")}`);
  }
}

/**
 * Runs `body` (which returns how many operations it did) `runs` times in this process, each
 * after a full collection, and prints a {@link Measured} line per run: the first is the cold
 * figure (the JIT compiles inside it), the last the warm one.
 */
export async function report(runs: number, body: () => Promise<number> | number): Promise<void> {
  for (let run = 0; run < runs; run++) {
    Bun.gc(true);
    const before = await statusBytes("VmRSS:");
    const started = performance.now();
    const ops = await body();
    const wallMs = performance.now() - started;
    const peak = await statusBytes("VmHWM:");
    const measured: Measured = { wallMs, ops, rssGrowthBytes: Math.max(0, peak - before) };
    console.log(JSON.stringify(measured));
  }
}
