/**
 * Who takes a core from a server's event-loop thread, and for how long: `perf sched record` on
 * that core while the load runs, then every stretch in which the thread was ready to run (taken
 * off the core, not asleep) but another thread had the core. A poll timed by the wall clock
 * counts such a stretch when it falls inside it; measured the same way for the reference, it
 * tells the OS's share of the slow polls from the server's own.
 *
 * Needs `perf` and the right to trace the scheduler (root, or `kernel.perf_event_paranoid` ≤ 0
 * with tracefs readable); where either is missing, {@link recordOsShare} says why instead.
 *
 * @module
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One stretch in which the thread was ready to run and another had its core. */
export interface TakenStretch {
  readonly ms: number;
  /** The thread that ran longest in the stretch, by name (`kdamond.0`, `JITWorker`, …). */
  readonly by: string;
}

/** What a recording found, or why there is none. */
export type OsShare = { readonly stretches: TakenStretch[] } | { readonly unavailable: string };

/** A `sched_switch` line of `perf script -F time,event,trace`. */
const SWITCH =
  /^\s*([\d.]+):\s+sched:sched_switch: prev_comm=(.*?) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)/;

/**
 * Records the scheduler on `core` while `load` runs, and returns the stretches in which thread
 * `tid` was ready to run but off the core.
 *
 * @example
 * ```ts
 * const share = await recordOsShare(1, child.pid, () => loadgenJson(flood(10)));
 * ```
 */
export async function recordOsShare<T>(
  core: number,
  tid: number,
  load: () => Promise<T>,
): Promise<{ result: T; share: OsShare }> {
  if (Bun.which("perf") === null) return { result: await load(), share: { unavailable: "perf is not installed" } };
  const file = join(tmpdir(), `os-share-${process.pid}-${Date.now()}.data`);
  const recorder = Bun.spawn(["perf", "sched", "record", "-C", String(core), "-o", file], { stdout: "ignore", stderr: "pipe" });
  try {
    // perf says nothing when it is ready: give it a moment to attach, as its users do.
    await Bun.sleep(300);
    if (recorder.exitCode !== null) {
      return {
        result: await load(),
        share: { unavailable: `perf sched record failed: ${(await new Response(recorder.stderr).text()).trim()}` },
      };
    }
    const result = await load();
    recorder.kill("SIGINT");
    await recorder.exited;
    const script = Bun.spawnSync(["perf", "script", "-i", file, "-F", "time,event,trace"], { stdout: "pipe", stderr: "pipe" });
    if (script.exitCode !== 0)
      return { result, share: { unavailable: `perf script failed: ${script.stderr.toString().trim()}` } };
    return { result, share: { stretches: takenStretches(script.stdout.toString(), tid) } };
  } finally {
    if (recorder.exitCode === null) recorder.kill("SIGKILL");
    rmSync(file, { force: true });
  }
}

/** The stretches in which `tid` was switched out while runnable, from `perf script` lines of one core. */
function takenStretches(lines: string, tid: number): TakenStretch[] {
  const stretches: TakenStretch[] = [];
  let since: number | null = null; // when `tid` was switched out, ready to run
  let ran = new Map<string, number>(); // who ran since, for how long (seconds)
  let current: string | null = null;
  let currentSince = 0;
  for (const line of lines.split("\n")) {
    const match = SWITCH.exec(line);
    if (match === null) continue;
    const at = Number(match[1]);
    if (since !== null && current !== null) ran.set(current, (ran.get(current) ?? 0) + at - currentSince);
    if (Number(match[3]) === tid) {
      since = match[4]!.startsWith("R") ? at : null;
      ran = new Map();
    }
    if (Number(match[6]) === tid && since !== null) {
      const longest = [...ran].sort((a, b) => b[1] - a[1])[0];
      stretches.push({ ms: (at - since) * 1000, by: longest?.[0] ?? "?" });
      since = null;
    }
    current = match[5]!;
    currentSince = at;
  }
  return stretches;
}

/**
 * How many stretches lasted over `ms`, and by whom, as one phrase: `3 (kdamond.0 2, JITWorker 1)`.
 *
 * @example
 * ```ts
 * describeOver(share, 1); // "3 (kdamond.0 2, JITWorker 1)"
 * ```
 */
export function describeOver(share: OsShare, ms: number): string {
  if ("unavailable" in share) return `not measured (${share.unavailable})`;
  const over = share.stretches.filter((stretch) => stretch.ms > ms);
  if (over.length === 0) return "0";
  const by = new Map<string, number>();
  for (const stretch of over) by.set(stretch.by, (by.get(stretch.by) ?? 0) + 1);
  const longest = Math.max(...over.map((stretch) => stretch.ms));
  return (
    `${over.length} (${[...by]
      .sort((a, b) => b[1] - a[1])
      .map(([name, count]) => `${name} ${count}`)
      .join(", ")}; ` + `the longest ${longest.toFixed(2)} ms)`
  );
}

/** The number of stretches over `ms`, or null where none was measured. */
export function countOver(share: OsShare, ms: number): number | null {
  return "unavailable" in share ? null : share.stretches.filter((stretch) => stretch.ms > ms).length;
}
