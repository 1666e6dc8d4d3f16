// Shared by the tests: both drivers, runtimes that record, crafted OS events, subprocesses, open sockets.
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { EventBuffer } from "../src/sys/poller.ts";
import { Runtime, type RuntimeOptions } from "../src/runtime/runtime.ts";
import type { TraceEvent } from "../src/runtime/trace.ts";
import type { DriverName } from "../src/runtime/driver.ts";

/** Every runtime behaviour is tested under both drivers. */
export const drivers: DriverName[] = ["inline", "thread"];

/** A runtime whose trace events are kept in `events`, closed by `using`. */
export function tracedRuntime(driver: DriverName, options: RuntimeOptions = {}): Runtime & { events: TraceEvent[] } {
  const events: TraceEvent[] = [];
  const runtime = new Runtime({ ...options, driver, trace: (event) => events.push(event) }) as Runtime & { events: TraceEvent[] };
  runtime.events = events;
  return runtime;
}

/** A runtime under `driver` that collects unjoined task errors instead of printing them. */
export function quietRuntime(driver: DriverName): Runtime & { errors: unknown[] } {
  const errors: unknown[] = [];
  const runtime = new Runtime({ driver, onUnjoinedError: (error) => errors.push(error) }) as Runtime & { errors: unknown[] };
  runtime.errors = errors;
  return runtime;
}

/** One event as the poller would report it, for handing to a reactor directly. */
export function osEvent(token: number, flags: number): [EventBuffer, number] {
  const events = new EventBuffer(1);
  const view = new DataView(events.bytes.buffer);
  view.setUint32(0, token % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(token / 0x1_0000_0000), true);
  view.setUint32(8, flags, true);
  return [events, 1];
}

/** What a finished process left: its exit code and its output. */
export interface Finished {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Standard output as bytes, for binary comparisons. */
  readonly bytes: Uint8Array;
}

/**
 * Runs `command` to the end (killed after `timeoutMs`, default 60 s), with `stdin` as its
 * input if given. Tests that could crash the process through FFI run their code this way.
 */
export async function runProcess(command: string[], options: { stdin?: Uint8Array; timeoutMs?: number } = {}): Promise<Finished> {
  const child = Bun.spawn(command, { stdin: options.stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  try {
    const [bytes, stderr, exitCode] = await Promise.all([
      new Response(child.stdout).bytes(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { exitCode, stdout: new TextDecoder().decode(bytes), stderr, bytes };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until `condition()` holds, checking every 10 ms, for at most `timeoutMs` (default 30 s:
 * generous, since the machine may be loaded); throws naming `what` if it never does. Tests wait
 * for what they need (a line printed, a counter reached), never for a fixed time.
 */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}, in vain`);
    await Bun.sleep(10);
  }
}

/**
 * The sockets this process has open now (where /proc shows what a descriptor is; elsewhere every
 * descriptor). Tests compare which are new, not how many there are: earlier tests' may still be
 * closing, a reactor thread may still be starting or ending, and a Bun Worker's own event loop
 * opens and closes descriptors of its own.
 */
export function openSockets(): Set<string> {
  if (!existsSync("/proc/self/fd")) return new Set(readdirSync("/dev/fd"));
  const isSocket = (fd: string) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:");
    } catch {
      return false; // closed meanwhile
    }
  };
  return new Set(readdirSync("/proc/self/fd").filter(isSocket));
}

/** The sockets opened since `before` ({@link openSockets}). */
export function socketsOpenedSince(before: Set<string>): string[] {
  return [...openSockets()].filter((fd) => !before.has(fd));
}
