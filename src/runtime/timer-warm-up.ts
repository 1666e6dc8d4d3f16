/**
 * The timer wheel's warm-up: its code run through every path it has, on a wheel of its own
 * with a simulated clock, before a server says it is ready.
 *
 * Why: JavaScriptCore's optimizing tiers (DFG, FTL) compile only the paths a function has taken
 * so far, and leave an exit where the others were; they type each number by what it has seen.
 * Which paths the wheel takes depends on the clock: the slot a level has reached (the first or
 * the second of its two 32-bit words), a timer moving down a level, a deadline past the top
 * level's reach, a tick past 2^31 ms. A server's own timers (the echo samples the kernel every
 * 250 ms) meet a new one every few seconds as the clock turns: measured after the echo's warm-up
 * (`BUN_JSC_verboseOSR=1`, `BUN_JSC_reportCompileTimes=1`, one datagram in flight), the wheel's
 * functions left their compiled code 13 times in 6 s ("InadequateCoverage", "Overflow",
 * "BadType") and were compiled again, with every function that had inlined them (the executor's
 * pass, the echo's reader: 5–23 ms each), 45–120 compiles in the 10 s after the ready line,
 * 80–200 ms of a compiler thread that shares the server's core.
 *
 * The simulated clock jumps by random amounts from a fraction of a millisecond to years (a
 * fixed seed: the same jumps every time), with timers set at random distances (Infinity
 * included), some removed before they fire, some left to fire, and it checks the wheel as it
 * goes: a timer that fires early, fires twice, is late, or a wait that would sleep past a
 * deadline throws. The scratch wheel's timers are `Sleep`s, as a runtime's are.
 *
 * @module
 */
import { Sleep } from "./timers.ts";
import { FIRED, TimerWheel, UNARMED } from "./timer-wheel.ts";
import type { Waker } from "./waker.ts";

/** Steps of the simulated clock: enough for every level's slots in both words and each way a timer can move. */
export const TIMER_WARM_UP_STEPS = 4_000;
/** Timers the scratch wheel holds at most at once. */
const LIVE_MAX = 48;
/** The longest wait the wheel answers, as `timer-wheel.ts` caps it (the poller's 32-bit timeout). */
const WAIT_MS_MAX = 0x7fff_ffff;

/** What {@link warmUpTimers} did. */
export interface TimerWarmUpReport {
  /** Timers set on the scratch wheel. */
  readonly set: number;
  /** Of those, fired (each at or after its deadline, and no later than the clock step that passed it). */
  readonly fired: number;
  /** Of those, removed before they fired. */
  readonly removed: number;
}

/** A small fixed-seed generator (xorshift32): the same simulated clock on every run. */
function random(state: Uint32Array): number {
  let x = state[0]!;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[0] = x;
  return (x >>> 0) / 2 ** 32;
}

/** A distance in milliseconds between a fraction of one and 2^38 (beyond the wheel's reach), or Infinity. */
function distanceMs(state: Uint32Array): number {
  const draw = random(state);
  if (draw < 0.02) return Infinity;
  return 2 ** Math.floor(random(state) * 39) * random(state);
}

/**
 * Runs the timer wheel's code through all its paths on a scratch wheel with a simulated clock
 * (see the module's note for why), and checks the wheel on the way: throws an `Error` naming
 * the timer and the clock if one fired early, twice or late, or if a wait would have slept past
 * a deadline. About 10–20 ms; the runtime's own wheel and clock are not touched.
 *
 * @example
 * ```ts
 * const report = warmUpTimers(); // before the ready line
 * console.log(`${report.fired} of ${report.set} timers fired`);
 * ```
 */
export function warmUpTimers(): TimerWarmUpReport {
  const wheel = new TimerWheel();
  const state = new Uint32Array([0x9e3779b9]);
  const live: Sleep[] = [];
  let at = 0;
  let set = 0;
  let fired = 0;
  let removed = 0;
  // One waker for all: it counts the wakes, which settle() matches with the timers fired.
  const waker: Waker = {
    wake() {
      fired++;
    },
  };
  for (let step = 0; step < TIMER_WARM_UP_STEPS; step++) {
    const draw = random(state);
    if (draw < 0.45 && live.length < LIVE_MAX) {
      const sleep = new Sleep(at + distanceMs(state));
      sleep.waker = waker;
      wheel.insert(sleep);
      live.push(sleep);
      set++;
    } else if (draw < 0.6 && live.length > 0) {
      const index = Math.floor(random(state) * live.length);
      const [sleep] = live.splice(index, 1);
      wheel.remove(sleep!);
      removed++;
    }
    checkWait(wheel, live, at);
    // The driver's way (wait as long as the wheel says) or a jump: a process that slept, a busy one.
    const waitMs = wheel.timeoutMs(at, random(state) < 0.5 ? -1 : 100);
    const jumpMs = distanceMs(state);
    at += random(state) < 0.5 && waitMs < WAIT_MS_MAX ? waitMs + random(state) : Number.isFinite(jumpMs) ? jumpMs : 2 ** 37;
    const before = fired;
    wheel.fireDue(at);
    settle(live, at, fired - before);
  }
  return { set, fired, removed };
}

/** A wait the wheel answers must not sleep past the earliest live deadline. */
function checkWait(wheel: TimerWheel, live: readonly Sleep[], at: number): void {
  let earliest = Infinity;
  for (const sleep of live) earliest = Math.min(earliest, sleep.deadline);
  if (earliest === Infinity) return;
  const waitMs = wheel.timeoutMs(at, -1);
  const latestMs = Math.min(WAIT_MS_MAX, Math.max(0, Math.ceil(Math.ceil(earliest) - at)));
  if (waitMs > latestMs) {
    throw new Error(`timer warm-up: at ${at} the wheel would wait ${waitMs} ms, past a deadline at ${earliest}`);
  }
}

/**
 * After `fireDue(at)`: takes the fired timers out of `live`, checking that exactly `firedNow`
 * fired (its waker counted them), none early, and none is left that was due.
 */
function settle(live: Sleep[], at: number, firedNow: number): void {
  let found = 0;
  for (let index = live.length - 1; index >= 0; index--) {
    const sleep = live[index]!;
    if (sleep.wheelSlot === FIRED) {
      if (sleep.deadline > at) throw new Error(`timer warm-up: a timer due at ${sleep.deadline} fired at ${at}, early`);
      live.splice(index, 1);
      found++;
    } else if (sleep.wheelSlot === UNARMED) {
      throw new Error(`timer warm-up: a timer due at ${sleep.deadline} left the wheel without firing`);
    } else if (Math.ceil(sleep.deadline) <= Math.floor(at)) {
      throw new Error(`timer warm-up: a timer due at ${sleep.deadline} had not fired at ${at}, late`);
    }
  }
  if (found !== firedNow) throw new Error(`timer warm-up: ${firedNow} wake(s) at ${at} for ${found} timer(s) fired`);
}
