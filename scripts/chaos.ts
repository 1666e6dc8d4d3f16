/**
 * The chaos test: an echo whose system calls fail on purpose, flooded over IPv4 and IPv6 with
 * datagrams of mixed sizes, must account for every datagram it received.
 *
 * Usage: `bun scripts/chaos.ts --seed N [--seconds S] [--rate PPM]` (`npm run chaos -- …`)
 *
 * 1. builds the library with fault injection (`zig build -Dfault-injection`, into
 *    `zig/zig-out/fault/`) and the load generator;
 * 2. starts the echo on it (`scripts/chaos/echo.ts`): receive, send and wait calls fail with
 *    EINTR, EAGAIN, ENOBUFS, ENOMEM or send part of a batch, RATE per million calls, chosen by
 *    SEED; the runtime's invariants are checked every few milliseconds;
 * 3. floods it for S seconds with four load generators (64 and 1400 bytes over IPv4, 512 and
 *    9000 bytes over IPv6), then stops it with SIGTERM;
 * 4. prints `chaos: seed=N received=… echoed=… dropped=… (by reason) unaccounted=0 crashed=no`
 *    and exits 1 if a datagram is unaccounted for, the echo died or failed, an invariant broke,
 *    a descriptor was left open, or an echo came back corrupted.
 *
 * The same seed injects the same faults in the same order of calls, so a failure found with a
 * seed is looked at again by running that seed again.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { faultLibrary } from "./build.ts";

const root = resolve(import.meta.dir, "..");
const zig = join(root, "scripts", "zig");
const loadgen = join(root, "zig", "zig-out", "bin", "loadgen");

/** The default fault rate: one call in a hundred fails. */
const RATE_PPM = 10_000;
/** The loads: host, datagram size. Sizes mix small, MTU-sized and jumbo datagrams. */
const LOADS: readonly [string, number][] = [
  ["127.0.0.1", 64],
  ["127.0.0.1", 1400],
  ["::1", 512],
  ["::1", 9000],
];
/** How long the echo may take to stop (it drains its queue for at most 500 ms). */
const STOP_MS = 5000;

/** The drop counters, and how the line names them. */
const DROPS: readonly [string, string][] = [
  ["droppedOversized", "oversized"],
  ["droppedRefused", "refused"],
  ["droppedRateLimited", "rate-limited"],
  ["droppedSendError", "send-error"],
  ["droppedOverload", "overload"],
  ["droppedUnreachable", "unreachable"],
];

interface EchoReport {
  counters: Record<string, number>;
  faults: Record<string, Record<string, number>>;
  violations: string[];
  leaked: string[];
  failure: string | null;
}

function build(): void {
  for (const args of [
    ["build", "-Dfault-injection", "-p", "zig-out/fault"],
    ["build", "bench"],
  ]) {
    const result = Bun.spawnSync([zig, ...args, "--summary", "none"], {
      cwd: join(root, "zig"),
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (result.exitCode !== 0) throw new Error(`zig ${args.join(" ")} failed`);
  }
}

/** Reads the next line of a child's output (`sink` keeps what came after it). */
async function readLine(
  reader: { read(): Promise<{ value?: Uint8Array | undefined; done: boolean }> },
  sink: { text: string },
): Promise<string | null> {
  const decoder = new TextDecoder();
  while (!sink.text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) return null;
    sink.text += decoder.decode(value, { stream: true });
  }
  const index = sink.text.indexOf("\n");
  const line = sink.text.slice(0, index);
  sink.text = sink.text.slice(index + 1);
  return line;
}

async function flood(ports: Record<string, number>, seconds: number): Promise<{ echoes: number; errors: number }> {
  const runs = LOADS.map(([host, size]) =>
    Bun.spawn([loadgen, "throughput", host, String(ports[host]), String(size), String(seconds), "2", "16"], {
      stdout: "pipe",
      stderr: "inherit",
    }),
  );
  const results = await Promise.all(
    runs.map(async (run) => JSON.parse(await new Response(run.stdout).text()) as { echoes: number; errors: number }),
  );
  return results.reduce((sum, r) => ({ echoes: sum.echoes + r.echoes, errors: sum.errors + r.errors }), { echoes: 0, errors: 0 });
}

async function main(): Promise<number> {
  const usage = (message: string): number => {
    console.error(`chaos: ${message}\nUsage: npm run chaos -- --seed N [--seconds S] [--rate PPM]`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseArgs({ options: { seed: { type: "string" }, seconds: { type: "string" }, rate: { type: "string" } } }));
  } catch (error) {
    return usage((error as Error).message);
  }
  const seed = Number(values.seed ?? Math.floor(Math.random() * 1e9));
  const seconds = Number(values.seconds ?? 5);
  const ratePpm = Number(values.rate ?? RATE_PPM);
  if (!Number.isSafeInteger(seed) || seed < 0) return usage(`--seed "${values.seed}" is not a whole number >= 0`);
  if (!(seconds > 0 && seconds <= 3600))
    return usage(`--seconds "${values.seconds}" is not a number of seconds above 0 and at most 3600`);
  if (!Number.isInteger(ratePpm) || ratePpm < 0 || ratePpm > 1_000_000) {
    return usage(`--rate "${values.rate}" is not a whole number of faults per million calls from 0 to 1000000`);
  }
  build();

  const echo = Bun.spawn([process.execPath, join(root, "scripts", "chaos", "echo.ts"), String(seed), String(ratePpm)], {
    cwd: root,
    env: { ...process.env, BUN_REACTOR_LIB: faultLibrary },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = new Response(echo.stderr).text();
  const reader = echo.stdout.getReader();
  const buffered = { text: "" };
  const ready = await readLine(reader, buffered);
  const match = /^ready (\d+) (\d+)$/.exec(ready ?? "");
  if (match === null) {
    console.error(`chaos: the echo did not start (${ready}):\n${await stderr}`);
    return 1;
  }
  const load = await flood({ "127.0.0.1": Number(match[1]), "::1": Number(match[2]) }, seconds);
  echo.kill("SIGTERM");
  const timer = setTimeout(() => echo.kill("SIGKILL"), STOP_MS);
  const reportLine = await readLine(reader, buffered);
  const exitCode = await echo.exited;
  clearTimeout(timer);
  return judge(seed, ratePpm, reportLine, exitCode, echo.signalCode, await stderr, load);
}

function judge(
  seed: number,
  ratePpm: number,
  reportLine: string | null,
  exitCode: number,
  signal: NodeJS.Signals | number | null,
  stderr: string,
  load: { echoes: number; errors: number },
): number {
  const crashed = reportLine === null || exitCode !== 0;
  const report: EchoReport | null = reportLine === null ? null : (JSON.parse(reportLine) as EchoReport);
  const counters = report?.counters ?? {};
  const received = counters.datagramsIn ?? 0;
  const echoed = counters.datagramsOut ?? 0;
  const dropped = DROPS.reduce((sum, [name]) => sum + (counters[name] ?? 0), 0);
  const unaccounted = received - echoed - dropped;
  const reasons = DROPS.map(([name, label]) => `${label} ${counters[name] ?? 0}`).join(", ");
  console.log(
    `chaos: seed=${seed} received=${received} echoed=${echoed} dropped=${dropped} (${reasons}) ` +
      `unaccounted=${unaccounted} crashed=${crashed ? "yes" : "no"}`,
  );
  if (report !== null) {
    const injected = Object.entries(report.faults).map(([point, kinds]) => {
      const made = Object.entries(kinds).filter(([, count]) => count > 0);
      return `${point} ${made.length === 0 ? "none" : made.map(([kind, count]) => `${kind} ${count}`).join(" ")}`;
    });
    console.log(`chaos: faults at ${ratePpm} per million calls: ${injected.join("; ")}`);
    console.log(
      `chaos: retries send ${counters.sendRetries} recv ${counters.receiveRetries}, restarts ${counters.restarts}, ` +
        `dropped by kernel ${counters.droppedByKernel}; load generators verified ${load.echoes} echoes, ${load.errors} corrupted`,
    );
  }
  const failures: string[] = [];
  if (crashed) failures.push(`the echo ended with exit ${exitCode}${signal === null ? "" : ` (${signal})`}:\n${stderr}`);
  if (unaccounted !== 0) failures.push(`${unaccounted} datagram(s) received but neither echoed nor counted as dropped`);
  if (report?.failure) failures.push(`the echo failed: ${report.failure}`);
  for (const violation of report?.violations ?? []) failures.push(`invariant: ${violation}`);
  if ((report?.leaked.length ?? 0) > 0) failures.push(`descriptors left open at exit: ${report!.leaked.join(", ")}`);
  if (load.errors > 0) failures.push(`${load.errors} echo(es) came back corrupted`);
  if (received === 0) failures.push("the echo received nothing: the chaos run tested nothing");
  for (const failure of failures) console.error(`chaos: FAILED: ${failure}`);
  if (failures.length > 0) console.error(`chaos: reproduce with: npm run chaos -- --seed ${seed} --rate ${ratePpm}`);
  return failures.length === 0 ? 0 : 1;
}

process.exit(await main());
