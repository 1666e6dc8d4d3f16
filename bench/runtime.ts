/**
 * The runtime benchmark: what the runtime itself costs per poll, spawn, wake, sleeping task and
 * timer, beside Bun's own `async`/`await` + `setTimeout` and tokio's `current_thread` runtime,
 * in one run. Each workload runs in a fresh process per runtime; every figure is also given as
 * a ratio to tokio and to Bun measured in the same run, since these machines are noisy.
 *
 * Usage: bun bench/runtime.ts [--quick] [--repeat N] [--warmup N] [--no-write] [--before DIR] [--tasks N]
 *        [--yields K] [--spawns N] [--rounds N] [--sleepers N] [--timers N] [--selects N]
 *
 * The floor column runs the same workloads on the smallest generator executor with the same
 * await protocol (`bench/runtime/floor.ts`, nothing shared with `src/`): bun-reactor ÷ floor is
 * what the executor adds to what JavaScriptCore's generators cost anyway. Below the tables the
 * targets of issues 23 and 24 are printed, each with its ratio and whether it is met.
 * `--before DIR` adds bun-reactor's columns run from another checkout (DIR, e.g. a `git worktree`
 * of main) in the same interleaved rounds, and checks that no row got slower; the section written
 * to bench/RESULTS.md then has those columns too, and names DIR's commit.
 *
 * `--warmup N` (default 3): each process runs its workload N times unmeasured, at the same size
 * and on the same runtime, before the measured run, for every column alike (as a JS benchmark
 * harness warms up before it measures: otherwise JavaScriptCore's JIT compiles inside the
 * measured window). The first run of each process is printed too, as the cold table, and
 * resident bytes always come from it. `--warmup 0`: the measured run is the first (cold).
 * Why 3, not 1 (2026-12-05, quiet machine, two full runs one after the other): after one
 * unmeasured run even the floor, a 60-line executor, was still being compiled (a poll 68 ns in
 * the second run, 46 in the fourth; spawn + join 200 and 127 ns), while tokio's figures did not
 * move (72 and 69 ns); a helper's `BUN_JSC_reportCompileTimes` showed about 60 ms of compiling in
 * a second run of 100 ms on one core. The second run measured the JIT, not the executor.
 *
 * The tokio column is a small crate (`bench/runtime/tokio`, its Cargo.lock committed) built here
 * with `cargo build --release --locked`, offline first and from crates.io if its crates are not
 * cached yet. Without cargo, or if the build fails, that column says so and the rest runs.
 *
 * `--quick` is a smoke run with small sizes: it proves every part works, and writes nothing.
 * Otherwise the table also goes to bench/RESULTS.md, in a section of its own.
 *
 * ## Where the time and bytes went (profiled before the changes, 2026-11-27)
 *
 * Measured with `heapStats()` (object counts and heap bytes per task, 100,000 tasks each
 * sleeping, after a full collection), `bun:jsc`'s sampling profiler and `BUN_JSC_logGC`:
 *
 * - A sleeping task cost 653 heap bytes (1,297 resident) in 12 cells: the task, its
 *   `TaskWaker`, its `Context`, the generator driver (`AsyncFuture`), the join handle, the
 *   `Sleep`, its heap `Timer`, the iterator result `yield*` handed over, the joiners array, the
 *   default name (two strings), plus the generator itself (generator, function, scope: 139 B,
 *   the user's code) and an entry in the executor's `Set` of live tasks.
 * - 1,000,000 sleeping tasks: the JS samples covered about a fifth of the wall time; the rest
 *   was garbage collection (full cycles of 30–160 ms as the heap grew) and the binary heap's
 *   O(log n) sifts over a million scattered timers. Spawn + join was dominated by allocation
 *   (task, waker, context, name strings, a generator per join) and the `Set`'s hashing.
 * - Ping-pong: every turn with a ready task paid an `epoll_wait(0)` through FFI, one per wake.
 *
 * What was done, and why: a task is its own context and waker (3 cells → 1, as a tokio task's
 * header); default names are made on demand; joiners live in a field; the live tasks are an
 * intrusive list; `yield*`'s iterator results are shared; a join awaits through a small
 * iterator, not a generator; timers moved to a hierarchical wheel (`timer-wheel.ts`) in which a
 * `Sleep` is its own entry: O(1) set, cancel and fire whatever the number of timers, where the
 * heap was O(log n) with a cache miss per level; and while tasks are ready the OS is checked once
 * per 61 polls (tokio's `event_interval`) instead of once per turn. A sleeping task is now 436
 * heap bytes in 6 cells (task, generator driver, join handle, sleep, and the user's generator
 * with its scope and function). What remains: the generator driver and the join handle are
 * still cells of their own (folding the driver into the task is the next step), each finished
 * task leaves the generator's last result as garbage, and constructing the task, its driver and
 * its handle (class field initializers) leads the spawn profile, GC a third of its wall time.
 *
 * Then (helper i10b): a task spawned from a generator runs it itself (`pollGenerator`, the
 * task's own fields), so the driver cell is gone; the error to throw at an await travels in a
 * small wrapper instead of a flag field, a "finished" flag was dropped (closing a finished
 * generator again is harmless), and a join handle reaches the executor through its task instead
 * of a field. Then the task's own fields: JSC rounds a 20-field task (176 B) up to its 224-byte
 * size class, an 18-field one fits 160 B. The turn's deadline moved from every task to the
 * executor (it is the turn's), and a task's joiners went into one field (a waker, or an array
 * when several join). A sleeping task is now 5 cells; spawn's profile is still led by
 * constructing the task (the `Context` constructor, a third of the samples, GC included).
 *
 * Then (helper r10, 2026-11-28), measurement first. A fresh process timed the JIT's compiling
 * with the work: the spawn workload's first run in a process took 1,100–1,300 ns a task, its
 * second 530–740, its third 335, while tokio's stayed at 700–870 (same processes, load about 1).
 * So `--warmup` (above): every column, tokio and Bun included, runs its workload once
 * unmeasured at the same size in the same process (three times since 2026-12-05: see above);
 * the cold table keeps the first run.
 * Cells, counted with `heapStats()` and sized with `estimateShallowMemoryUsageOf` (kept by
 * test/task-cells.test.ts): JSC's size classes here are 32, 48, 64, 80, 112, 160, 224 bytes
 * (fields: 1–2, 3–4, 5–6, 7–8, 9–12, 13–18, 19–26), so a field counts only when it crosses one.
 * The sampling profile of a warm spawn + join was led by allocation in the task's and the join
 * handle's constructors (a third of the samples, GC included), then resuming generators. Done:
 * a task is its own join handle (Task extends JoinHandle; Context became an interface the task
 * implements), one object per spawn instead of two; then 17 fields down to 12 (160 → 112 B):
 * the poll in progress (budget, preemption, whether it took the waker) is the executor's, a cancel
 * during a poll and an idle task that did not take its waker are states, given names are in a
 * WeakMap, "joined" is a sentinel in the joiners field. A Sleep went from 80 to 64 B: its wheel
 * is its slot's (`WheelSlot`), and its tick is derived from its deadline. A sleeping task is now
 * 330 heap bytes (fixture, 20,000 tasks), was 504 at the start of this round: task 112, sleep
 * 64, and the user's generator (generator, function, scope). Measured after (load 2.0–2.9,
 * other helpers' work running; warm run, same processes): 1,000,000 sleepers use 427–445
 * resident bytes a task against Bun's 533 (0.80–0.83×) and tokio's 464, in 0.37–0.39× Bun's
 * wall time; spawn + join of 100,000 costs 585–1,030 ns a task against tokio's 778–869
 * (0.75–1.23×: on these 2 shared cores JSC's collector threads compete with the other work,
 * tokio's single thread does not). The 112-byte task did not change spawn's time measurably
 * (interleaved A/B, 4 rounds each, within the noise); in a process warmed seven times, spawn +
 * join reaches 205–305 ns. A poll (`yieldNow`) is 140–210 ns warm against tokio's 120–130:
 * most of it is JSC resuming the generator (`generatorResume`), which this runtime cannot
 * avoid while tasks are generators.
 *
 * ## The floor, and where a poll's time above it went (issue 23, 2026-12-05)
 *
 * The floor column (`runtime/floor.ts`) is the same await protocol on the least executor that
 * runs it. On this shared machine (2 cores, load 3–13 while this was done) timings moved by up
 * to 2× from run to run, so the profile is in instructions: `valgrind --tool=callgrind` on the
 * bun process with JIT and GC on the main thread (`BUN_JSC_useConcurrentJIT=false
 * BUN_JSC_useConcurrentGC=false`, so that counts repeat: two runs of one code gave 776 and 781,
 * another pair 710 and 721), per poll as the difference between `reactor.ts inline 3 yield 1000
 * 150` and `… 1000 50` over the 300,000 polls between them (the last runs warm). Where: `bun:jsc`'s
 * `profile()` around a warm run of 10,000 tasks × 300 yields.
 *
 * | code (inline driver) | instructions per poll |
 * |---|---:|
 * | the floor | 372 |
 * | bun-reactor before | 776–781 |
 * | … with its generator loop cut to the floor's (no try, budget, time, trace, checks) | 647 |
 * | … with also the poll flags, the trace checks and the deadline check cut | 559 |
 * | after: one `try` per task poll around a loop with none, the step read once, a task's own wake decided in `Task.wake` | 700 |
 * | after: + `readyAwait`, the budget and the turn's time in one call | 710–721 |
 * | after: + the commonest end of a poll first in `#pollTask`, the others in methods | 635 |
 * | after: + a task's fields in the order a poll reads them (kept) | 634 |
 * | … with both common ends (pending idle, woken) in `#pollTask` (fields in the old order: 732) | 765 |
 * | … with the whole poll written out in the pass's loop | 860 |
 *
 * The last three show what moves these counts most: not the work written in a function but
 * whether JSC inlines it, which depends on the size of the functions around it. A larger
 * `#pollTask` cost ~130 instructions per poll; writing the poll into the loop cost ~225. Two
 * runs of one code agree within ~10; a change of one function's size can move the whole path by
 * 100 or more, so every change here was measured, and the two that lost were not kept.
 *
 * Of the ~400 instructions above the floor, about 130 were the generator loop's own checks (the
 * budget and the turn's time through the task's accessors and a chain of four calls, the trace
 * check per await, the recursive `resume`, two `try` blocks), about 90 the executor's bookkeeping
 * per poll (the three poll flags, trace checks, the deadline check between tasks), and ~190 what a
 * copy stripped of all that still has: the calls from the pass to the task's poll to the loop,
 * the waker getter, the task's states, its poll count. The sampling profile puts most samples at
 * those call sites, in `generatorResume` and the generator's body (as in the floor), and 7% in
 * constructing each `YieldNow` (as in the floor, which also makes one per await; a pooled
 * `yieldNow` gained nothing in an earlier round, so it still allocates one).
 *
 * Fewer instructions did not show as much in time: with 10,000 tasks each poll touches a task,
 * its generator and its frame that are out of the caches (the floor's task is 80 bytes, ours 112),
 * so the ratio to the floor in time (1.3–1.5×) is smaller than in instructions (1.7×). A task's
 * fields are now laid out in the order a poll reads them.
 *
 * Then (helper poll2, 2026-12-05), counted the same way at main's 159c766 (634 when the table above
 * was made, 616 in this count). An instruction profile: callgrind's counts per address
 * (`--dump-instr=yes`) matched to the address ranges JavaScriptCore prints with each compiled
 * function (`BUN_JSC_dumpFTLDisassembly=true BUN_JSC_dumpDFGDisassembly=true`), per function and
 * DFG node; the same for the floor. Per poll, roughly: the generator loop (`stepGenerator`, with
 * the generator's `next` inlined) ~250 against the floor's `run` ~185; the pass with `#pollTask`
 * and `pollFuture` inlined ~220 against the floor's loop, `shift` and `push` ~115; the generator's
 * own body about the same in both (~175); `stepGenerator` is never inlined into `pollFuture`, and
 * it left the FTL tier for the DFG one for part of a run (exits at a task's last step).
 *
 * | change (kept unless said) | instructions per poll |
 * |---|---:|
 * | start (159c766) | 616 |
 * | `yieldNow()` hands out again the yield whose await is over (one kept): no future per yield | 563 |
 * | … the same done by overriding `next()` on the yield (a `super.next` per await): not kept | 691 |
 * | no `passed()` call between tasks without a time budget, `pollPreempted` cleared where read: not kept | 573 |
 * | `stepGenerator` carries the awaited value to the resume in a local, not through the task's fields | 544 |
 * | the same code after rebasing on main (others' changes, none on this path) | 593 |
 * | … with `yield*`'s shared results written `{ value, done }`, a generator's own order: not kept | 570 |
 *
 * The last two rows show this count's noise here: ±25 between runs of nearly the same code. Over
 * four times as many polls (`1000 450` against `1000 50`, 1,200,000 polls) the start took 764 a
 * poll and the kept changes 661 (−13%); the yield's garbage is most of that (a collection's cost).
 *
 * In time (pinned to one core, `taskset -c 0`, as this machine's rule is; load 0.5–1.4, 8
 * interleaved rounds, median ns per poll, `yield 10000 100`): the fourth run of a process, warm,
 * 69.7 at the start, 54.7 after (tokio 69.1, floor 49.2: 0.79× tokio, 1.11× the floor); the second
 * run, the one this benchmark calls warm, 109.6 and 106.1 (tokio 69.3, floor 65.0). On one core the
 * second run still holds the JIT's compiling (`BUN_JSC_reportFTLCompileTimes`: ~60 ms of DFG/FTL
 * compiles in that 100 ms run, `stepGenerator` 22 ms, `#pollTask` 10–14, the task's body 9,
 * `#runPass` 7), because each run's `yields()` makes a new `task` generator function: a new
 * prototype, so a new shape at `run.generator.next` in `stepGenerator`, whose compiled code exits
 * and is compiled again. Resuming every generator through `%GeneratorPrototype%.next` itself
 * (one function, not looked up per shape) gave 97.5 against 102.9 in that second run (6 rounds),
 * and the same warm; not kept yet: tasks may be spawned from any object with the generator
 * protocol, which would then need a native generator around it.
 *
 * The timers row that `--before` flagged (206 against 185 ns, 1.12×) is not in the code: with
 * `performance.now` slowed 1,000× (valgrind runs ~50× slower, so the 1–10 s deadlines came due
 * while they were being armed), `timers 60000` against `20000`, a timer armed and cancelled took
 * 1,428 instructions at ac66a67 and 1,360 now (the timer code is the same; the difference is the
 * task's field order and the poll around it).
 *
 * The embedded driver read `performance.now()` twice per poll (the step prediction at every
 * ready await, the deadline before every task), which was most of its 1.9× tokio per poll and
 * 1.8× per wake. The turn's clock is now read once per up to 16 short steps (`turn.ts`), 0.14
 * times per poll of a yielding task. The select row's time was in the socket's address handling,
 * not the executor: `parseIPv4` (a `split` and a pattern per part) had 16% of the samples, views
 * of fresh arrays (each `.buffer` makes JSC give the array an `ArrayBuffer`) 15%, and the peer's
 * host text was formatted per datagram; now the two system calls have ~70% of them.
 *
 * The other rows, the same way (`pingpong 20000` against `60000`, `spawn 20000` against
 * `60000`): a spawn + join 4,634 instructions at main's ac66a67, 4,307 before this round's poll
 * changes, 4,050 after (with both common ends in `#pollTask`, not kept); a wake of the ping-pong
 * 1,402 before, 1,226 with that version, 1,267 with the kept one (an idle end is a call), and
 * 1,089 once `park` stopped reading the clock for timers when none is set while tasks are ready
 * (it did once per pass, so once per wake of a ping-pong).
 *
 * One run after (load 4.2–4.5, `--before` main at ac66a67, 3 processes per column, warm): a poll
 * inline 149 ns (tokio 112, floor 112, before 165), embedded 212 (before 329); select 3,783 ns
 * inline and 3,766 embedded against tokio's 2,832 (1.34×, 1.33×; before 5,604 and 6,328);
 * embedded ping-pong 213 ns a wake (before 639). That run's tokio and floor moved by 1.5× against
 * other runs minutes apart: the lead's quiet run decides the targets.
 *
 * The first run of this benchmark, before those changes (same machine, loaded), in ratios to
 * tokio: 4.07× per poll, 5.03× per spawn + join, 1.95× per wake, 4.74× the wall time of a million
 * sleeping tasks (2.47× Bun's) at 2.80× the resident bytes (2.44× Bun's), 0.93× per timer.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { cpus, homedir, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeSection } from "./results-file.ts";
import { buildNative } from "../scripts/build.ts";
import { type Measured, RUNS_MAX, type Workload } from "./runtime/measure.ts";

const root = join(import.meta.dir, "..");
const crate = join(import.meta.dir, "runtime", "tokio");
const bun = process.execPath;

/**
 * The columns: how to run a workload on each runtime. `floor` is the smallest generator executor
 * with the same await protocol (`runtime/floor.ts`); `before-*` are bun-reactor's columns run
 * from another checkout (`--before DIR`), to compare two versions of the code in one run.
 */
const RUNTIMES = ["inline", "embedded", "floor", "bun", "tokio", "before-inline", "before-embedded"] as const;
type RuntimeName = (typeof RUNTIMES)[number];

/** The workloads the floor has no column for: it has no poller. */
const FLOORLESS: ReadonlySet<Workload> = new Set(["select"]);

/** What `buildTokio` gives: the tokio column's executable, or why there is none. */
type TokioBuild = { binary: string } | { missing: string };

interface Sizes {
  tasks: number;
  yields: number;
  spawns: number;
  rounds: number;
  sleepers: number;
  timers: number;
  selects: number;
}

const FULL: Sizes = {
  tasks: 10_000,
  yields: 100,
  spawns: 100_000,
  rounds: 100_000,
  sleepers: 1_000_000,
  timers: 1_000_000,
  selects: 100_000,
};
const QUICK: Sizes = { tasks: 200, yields: 10, spawns: 2_000, rounds: 2_000, sleepers: 2_000, timers: 2_000, selects: 200 };

interface Options {
  readonly sizes: Sizes;
  readonly repeat: number;
  /** Unmeasured runs of the workload in each process before the measured (warm) one. */
  readonly warmup: number;
  readonly write: boolean;
  readonly quick: boolean;
  /** Another checkout of the project whose bun-reactor columns run beside this one's (`--before DIR`). */
  readonly before: string | null;
}

/** The default of `--warmup`: three full-size runs (the first also gives the cold figure); see the header for why. */
const WARMUP_DEFAULT = 3;

function options(): Options {
  const names = Object.keys(FULL) as (keyof Sizes)[];
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      repeat: { type: "string" },
      warmup: { type: "string" },
      "no-write": { type: "boolean" },
      before: { type: "string" },
      ...Object.fromEntries(names.map((name) => [name, { type: "string" as const }])),
    },
  });
  const quick = values.quick === true;
  const sizes = { ...(quick ? QUICK : FULL) };
  for (const name of names) {
    const given = (values as Record<string, string | undefined>)[name];
    if (given === undefined) continue;
    const value = Number(given);
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} ${given} is not a whole number >= 1`);
    sizes[name] = value;
  }
  const repeat = Number(values.repeat ?? (quick ? "1" : "3"));
  if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`--repeat ${values.repeat} is not a whole number >= 1`);
  const warmup = Number(values.warmup ?? String(WARMUP_DEFAULT));
  if (!Number.isInteger(warmup) || warmup < 0 || warmup >= RUNS_MAX) {
    throw new RangeError(`--warmup ${values.warmup} is not a whole number from 0 to ${RUNS_MAX - 1}`);
  }
  const before = values.before ?? null;
  if (before !== null && !existsSync(join(before, "bench", "runtime", "reactor.ts"))) {
    throw new RangeError(`--before ${before} is not a checkout of bun-reactor: it has no bench/runtime/reactor.ts`);
  }
  const write = !quick && values["no-write"] !== true;
  return { sizes, repeat, warmup, write, quick, before };
}

/** The arguments of a workload: its name and sizes. */
function workloadArgs(workload: Workload, sizes: Sizes): string[] {
  const of: Record<Workload, number[]> = {
    yield: [sizes.tasks, sizes.yields],
    spawn: [sizes.spawns],
    pingpong: [sizes.rounds],
    sleep: [sizes.sleepers],
    timers: [sizes.timers],
    select: [sizes.selects],
  };
  return [workload, ...of[workload].map(String)];
}

function findCargo(): string | null {
  const fromPath = Bun.which("cargo");
  if (fromPath !== null) return fromPath;
  const fromHome = join(homedir(), ".cargo", "bin", "cargo");
  return existsSync(fromHome) ? fromHome : null;
}

/** Builds the tokio crate; returns its executable, or why there is none. */
function buildTokio(): TokioBuild {
  const cargo = findCargo();
  if (cargo === null) return { missing: "cargo not found" };
  const build = (extra: string[]) =>
    Bun.spawnSync([cargo, "build", "--release", "--locked", "--quiet", ...extra], {
      cwd: crate,
      stdio: ["ignore", "inherit", "pipe"],
    });
  // Offline first: no network at all once the crates are in cargo's cache.
  let result = build(["--offline"]);
  if (result.exitCode !== 0) result = build([]);
  if (result.exitCode !== 0) {
    const reason = result.stderr.toString().trim().split("\n").at(-1) ?? "";
    console.error(`cargo build of bench/runtime/tokio failed: ${reason}`);
    return { missing: "cargo build failed" };
  }
  return { binary: join(crate, "target", "release", "runtime-bench-tokio") };
}

/** The command that runs `args` (a workload and its sizes) `runs` times in one process of `runtime`. */
function command(runtime: RuntimeName, runs: number, args: string[], tokio: string, before: string): string[] {
  switch (runtime) {
    case "inline":
    case "embedded":
      return [bun, join(import.meta.dir, "runtime", "reactor.ts"), runtime, String(runs), ...args];
    case "before-inline":
    case "before-embedded":
      return [bun, join(before, "bench", "runtime", "reactor.ts"), runtime.slice("before-".length), String(runs), ...args];
    case "floor":
      return [bun, join(import.meta.dir, "runtime", "floor.ts"), String(runs), ...args];
    case "bun":
      return [bun, join(import.meta.dir, "runtime", "bun.ts"), String(runs), ...args];
    case "tokio":
      return [tokio, String(runs), ...args];
  }
}

/** One process's figures: its first run (cold: the JIT compiles inside it) and its last (warm). */
interface ProcessMeasured {
  readonly cold: Measured;
  readonly warm: Measured;
}

async function measure(argv: string[], runs: number): Promise<ProcessMeasured> {
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`\`${argv.join(" ")}\` failed with exit code ${code}: ${stderr.trim()}`);
  const lines = stdout.trim().split("\n").slice(-runs);
  if (lines.length !== runs) throw new Error(`\`${argv.join(" ")}\` printed ${lines.length} result(s), not ${runs}`);
  const measured = lines.map((line) => JSON.parse(line) as Measured);
  return { cold: measured[0]!, warm: measured.at(-1)! };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A row of the table: a figure read from each runtime's measurement of one workload. */
interface Row {
  readonly label: (sizes: Sizes) => string;
  readonly workload: Workload;
  readonly figure: (measured: Measured) => number;
  readonly digits: number;
  /** Read from each process's first run even in the warm table (memory: see {@link Measured}). */
  readonly firstRun?: boolean;
}

const nsPerOp = (measured: Measured) => (measured.wallMs * 1e6) / measured.ops;

const ROWS: Row[] = [
  { label: (s) => `${s.tasks} tasks × ${s.yields} yields: ns per poll`, workload: "yield", figure: nsPerOp, digits: 0 },
  { label: (s) => `spawn + join of ${s.spawns} empty tasks: ns per task`, workload: "spawn", figure: nsPerOp, digits: 0 },
  { label: (s) => `wake ping-pong, ${s.rounds} rounds: ns per wake`, workload: "pingpong", figure: nsPerOp, digits: 0 },
  {
    label: (s) => `${s.sleepers} tasks sleeping 200–249 ms: wall ms`,
    workload: "sleep",
    figure: (m) => m.wallMs,
    digits: 0,
  },
  {
    label: () => "the same: resident bytes per sleeping task",
    workload: "sleep",
    figure: (m) => m.rssGrowthBytes / m.ops,
    digits: 0,
    firstRun: true,
  },
  {
    label: (s) => `${s.timers} timers armed, then cancelled: ns per timer`,
    workload: "timers",
    figure: nsPerOp,
    digits: 0,
  },
  {
    label: (s) => `select(sleep, recv) × ${s.selects}: ns per round`,
    workload: "select",
    figure: nsPerOp,
    digits: 0,
  },
];

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const ratio = (value: number, reference: number) =>
  Number.isFinite(value / reference) && reference > 0 ? `${(value / reference).toFixed(2)}×` : "n/a";

/** Which run of each process a table shows. */
type Phase = "cold" | "warm";

/** Each runtime's measurements of each workload, by `runtime/workload`. */
type Results = Map<string, ProcessMeasured[]>;

/** The median figure of `row` on `runtime` in `phase` (NaN where it was not measured). */
function figureOf(results: Results, phase: Phase, runtime: RuntimeName, row: Row): number {
  const measured = results.get(`${runtime}/${row.workload}`);
  if (measured === undefined) return Number.NaN;
  return median(measured.map((process) => row.figure(phase === "cold" || row.firstRun === true ? process.cold : process.warm)));
}

/** The table of one phase: every row, each runtime's median figure and the ratios. */
function table(phase: Phase, opts: Options, results: Results, tokio: TokioBuild): string {
  const tokioCell = (row: Row) =>
    "binary" in tokio ? fixed(figureOf(results, phase, "tokio", row), row.digits) : `– (${tokio.missing})`;
  const before = opts.before !== null;
  const lines = [
    "| work | bun-reactor inline | embedded | floor | Bun async/await | tokio current_thread | " +
      "inline ÷ tokio | inline ÷ floor | inline ÷ Bun | embedded ÷ tokio | embedded ÷ floor | embedded ÷ Bun |" +
      (before ? " before: inline | embedded | inline ÷ before | embedded ÷ before |" : ""),
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + (before ? "---:|---:|---:|---:|" : ""),
  ];
  for (const row of ROWS) {
    const of = (runtime: RuntimeName) => figureOf(results, phase, runtime, row);
    const [inline, embedded, floor, bunFigure, tokioFigure] = (["inline", "embedded", "floor", "bun", "tokio"] as const).map(of);
    let line =
      `| ${row.label(opts.sizes)} | ${fixed(inline!, row.digits)} | ${fixed(embedded!, row.digits)} | ` +
      `${fixed(floor!, row.digits)} | ${fixed(bunFigure!, row.digits)} | ${tokioCell(row)} | ` +
      `${ratio(inline!, tokioFigure!)} | ${ratio(inline!, floor!)} | ${ratio(inline!, bunFigure!)} | ` +
      `${ratio(embedded!, tokioFigure!)} | ${ratio(embedded!, floor!)} | ${ratio(embedded!, bunFigure!)} |`;
    if (before) {
      const [oldInline, oldEmbedded] = (["before-inline", "before-embedded"] as const).map(of);
      line +=
        ` ${fixed(oldInline!, row.digits)} | ${fixed(oldEmbedded!, row.digits)} | ` +
        `${ratio(inline!, oldInline!)} | ${ratio(embedded!, oldEmbedded!)} |`;
    }
    lines.push(line);
  }
  return lines.join("\n");
}

/** A target of the issues this benchmark checks: a ratio of two columns on one row, at most `max`. */
interface Target {
  readonly what: string;
  readonly workload: Workload;
  readonly runtime: RuntimeName;
  readonly reference: RuntimeName;
  readonly max: number;
}

/**
 * The targets, on the warm table (issue 23: the executor's own cost; issue 24: its slow paths).
 * "No row slower than before" needs `--before DIR`: slower means by more than the machine's
 * noise between two runs of the same code here, {@link BEFORE_NOISE}.
 */
const TARGETS: Target[] = [
  { what: "a poll, inline", workload: "yield", runtime: "inline", reference: "tokio", max: 1.0 },
  { what: "a poll, inline", workload: "yield", runtime: "inline", reference: "floor", max: 1.5 },
  { what: "spawn + join, inline", workload: "spawn", runtime: "inline", reference: "tokio", max: 1.0 },
  { what: "ping-pong, inline", workload: "pingpong", runtime: "inline", reference: "tokio", max: 1.0 },
  { what: "a poll, embedded", workload: "yield", runtime: "embedded", reference: "tokio", max: 1.5 },
  { what: "select(sleep, recv), inline", workload: "select", runtime: "inline", reference: "tokio", max: 1.5 },
  { what: "select(sleep, recv), embedded", workload: "select", runtime: "embedded", reference: "tokio", max: 1.5 },
];

/** How much slower than `--before` a row may measure and still count as not slower (noise). */
const BEFORE_NOISE = 1.1;

/** The lines that say, for each target, the ratio measured and whether it is met. */
function targetLines(opts: Options, results: Results): string[] {
  const lines = TARGETS.map((target) => {
    const row = ROWS.find((candidate) => candidate.workload === target.workload)!;
    const value = figureOf(results, "warm", target.runtime, row) / figureOf(results, "warm", target.reference, row);
    const verdict = Number.isFinite(value) ? (value <= target.max ? "met" : "NOT met") : "not measured";
    const shown = Number.isFinite(value) ? `${value.toFixed(2)}×` : "n/a";
    return `- ${target.what}: ${shown} ${target.reference} (target ≤ ${target.max.toFixed(1)}×: ${verdict})`;
  });
  if (opts.before === null) {
    lines.push("- no row slower than before: not checked (run with --before DIR, a checkout of the earlier code)");
    return lines;
  }
  const slower: string[] = [];
  for (const row of ROWS) {
    for (const driver of ["inline", "embedded"] as const) {
      const value = figureOf(results, "warm", driver, row) / figureOf(results, "warm", `before-${driver}`, row);
      if (value > BEFORE_NOISE) slower.push(`${row.label(opts.sizes)}, ${driver}: ${value.toFixed(2)}×`);
    }
  }
  const verdict = slower.length === 0 ? "met" : `NOT met: ${slower.join("; ")}`;
  lines.push(`- no row slower than before (each ≤ ${BEFORE_NOISE.toFixed(2)}× --before, warm): ${verdict}`);
  return lines;
}

/** What each table shows, as its heading says. */
function headings(warmup: number): Record<Phase, string> {
  return {
    warm:
      `Warm: the measured run follows ${warmup} unmeasured run(s) of the same workload at the same size in the same ` +
      "process, for every column alike (resident bytes: from the first run).",
    cold: "Cold: each process's first run, the JIT's compiling (and the allocator's first growth) inside it.",
  };
}

/** `dir` and the commit checked out there (`git rev-parse`), for the written section: the code compared against. */
function describeCheckout(dir: string): string {
  const result = Bun.spawnSync(["git", "-C", dir, "log", "-1", "--format=%h %s"], { stdout: "pipe", stderr: "ignore" });
  const commit = result.exitCode === 0 ? result.stdout.toString().trim() : "";
  const subject = commit.length > 72 ? `${commit.slice(0, 71)}…` : commit;
  return commit === "" ? `\`${dir}\` (not a git checkout)` : `\`${dir}\` at ${subject}`;
}

async function main(): Promise<void> {
  const opts = options();
  const loadAtStart = loadavg()[0]!;
  buildNative();
  const tokio = buildTokio();
  const runtimes = RUNTIMES.filter(
    (name) => (name !== "tokio" || "binary" in tokio) && (!name.startsWith("before-") || opts.before !== null),
  );
  const binary = "binary" in tokio ? tokio.binary : "";
  const runs = opts.warmup + 1;

  const results = new Map<string, ProcessMeasured[]>();
  const workloads = [...new Set(ROWS.map((row) => row.workload))];
  for (const workload of workloads) {
    const args = workloadArgs(workload, opts.sizes);
    // Rounds go through every runtime in turn, so that a drift of the machine's load touches
    // all of them alike.
    for (let round = 0; round < opts.repeat; round++) {
      for (const runtime of runtimes) {
        if (runtime === "floor" && FLOORLESS.has(workload)) continue;
        const key = `${runtime}/${workload}`;
        const measured = await measure(command(runtime, runs, args, binary, opts.before ?? ""), runs);
        results.set(key, [...(results.get(key) ?? []), measured]);
      }
    }
    console.error(`${workload}: done`);
  }

  // Without a warm-up the measured run is the cold one: one table.
  const phases: Phase[] = opts.warmup > 0 ? ["warm", "cold"] : ["cold"];
  const titles = headings(opts.warmup);
  const tables = phases.map((phase) => `${titles[phase]}\n\n${table(phase, opts, results, tokio)}`).join("\n\n");
  const targets =
    opts.warmup > 0 ? targetLines(opts, results) : ["- not checked: the targets are on the warm table (--warmup ≥ 1)"];
  console.log(`${tables}\n\nTargets (issues 23 and 24), warm, as ratios within this run:\n\n${targets.join("\n")}`);

  if (opts.write) {
    const section = [
      "## The runtime's own cost (`bun run bench:runtime`)",
      "",
      `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with \`bench/runtime.ts\` on ` +
        `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Bun ${Bun.version}; load average ${loadAtStart.toFixed(1)} ` +
        "when it began (the machine may be shared: read the ratios, which come from one run).",
      "",
      "- Each workload runs in a fresh process per runtime; figures are the median of " +
        `${opts.repeat} process(es). Bun's column is its own \`async\`/\`await\` (\`await null\` per yield), ` +
        "Promises and `setTimeout`; tokio's is `bench/runtime/tokio` (tokio 1.x `current_thread`, release build).",
      `- Warm-up (\`--warmup ${opts.warmup}\`): each process runs its workload ${runs} time(s) at the same size, ` +
        "every column alike (tokio on one runtime, Bun's functions, bun-reactor on one `Runtime`), and the last run is " +
        "measured, as a JS benchmark harness warms up before it measures; the cold table is each process's first run, " +
        "the figure a short-lived process pays. `--warmup 0` measures only the first run.",
      "- Resident bytes per task: peak resident memory (VmHWM) at the end of each process's first run minus resident " +
        "memory at its start, divided by the tasks (later runs reuse memory the first freed).",
      "- Timers: each is armed (its sleep polled once, or `setTimeout`) with a deadline 1–10 s away, all are " +
        "armed before the first is cancelled.",
      "- select: a datagram is sent to a socket, then a select of a 1 s sleep against its receive.",
      "- Floor: `bench/runtime/floor.ts`, the smallest generator executor with bun-reactor's await protocol (no " +
        "budget, turn, trace or cancellation; a binary heap of sleeps; no poller, so no select row).",
      ...(opts.before === null
        ? []
        : [
            `- Before: bun-reactor's columns run from ${describeCheckout(opts.before)} in the same interleaved rounds ` +
              `(\`--before\`); "slower" in the targets means by more than ${BEFORE_NOISE}×.`,
          ]),
      "- Where the time and bytes go, and what was changed for them: the comment at the top of `bench/runtime.ts`.",
      "",
      tables,
      "",
      "Targets (issues 23 and 24), warm, as ratios within this run:",
      "",
      ...targets,
    ].join("\n");
    await writeSection("runtime", section);
  }
}

await main();
