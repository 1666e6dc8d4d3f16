// The timer wheel on its own: order, cancellation, far deadlines, crowded ticks, reuse, and a
// long random run checked against a plain sorted list.
import { describe, expect, test } from "bun:test";
import { FIRED, removeTimer, Timer, type TimerEntry, TimerWheel, UNARMED } from "../src/runtime/timer-wheel.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { now, sleep } from "../src/runtime/timers.ts";
import { Context } from "../src/runtime/context.ts";
import { noopWaker } from "../src/runtime/waker.ts";
import { PENDING } from "../src/runtime/future.ts";

/** A wheel whose timers record their names in `fired` when they fire. */
function recordingWheel(): { wheel: TimerWheel; fired: string[]; add: (name: string, deadline: number) => Timer } {
  const wheel = new TimerWheel();
  const fired: string[] = [];
  return { wheel, fired, add: (name, deadline) => wheel.add(deadline, { wake: () => fired.push(name) }) };
}

/** A small deterministic random generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("TimerWheel", () => {
  test("timers set out of order fire in deadline order, across levels, each once", () => {
    const { fired, add, wheel } = recordingWheel();
    // 3 ms (level 0), 100 ms (level 1), 5 s (level 2), 10 min (level 3), 6 h (level 4).
    for (const [name, at] of [
      ["6h", 6 * 3_600_000],
      ["3ms", 3],
      ["10min", 600_000],
      ["100ms", 100],
      ["5s", 5_000],
    ] as const)
      add(name, at);
    expect(wheel.fireDue(2)).toBe(0);
    wheel.fireDue(4);
    expect(fired).toEqual(["3ms"]);
    wheel.fireDue(7 * 3_600_000); // one jump over everything: still in order
    expect(fired).toEqual(["3ms", "100ms", "5s", "10min", "6h"]);
    expect(wheel.size).toBe(0);
    wheel.fireDue(8 * 3_600_000);
    expect(fired).toHaveLength(5);
  });

  test("a timer never fires before its deadline: a fractional deadline waits for the next millisecond", () => {
    const { fired, add, wheel } = recordingWheel();
    const timer = add("t", 10.2);
    wheel.fireDue(10.9);
    expect(fired).toEqual([]);
    expect(timer.fired).toBe(false);
    wheel.fireDue(11);
    expect(fired).toEqual(["t"]);
    expect(timer.fired).toBe(true);
    expect(timer.wheelSlot).toBe(FIRED);
  });

  test("many timers on one tick fire together, in the order they were set", () => {
    const { fired, add, wheel } = recordingWheel();
    const names = Array.from({ length: 10_000 }, (_, index) => `t${index}`);
    for (const name of names) add(name, 700); // level 1 at first: they move down together
    add("before", 699);
    expect(wheel.fireDue(699)).toBe(1);
    expect(wheel.fireDue(700)).toBe(10_000);
    expect(fired).toEqual(["before", ...names]);
  });

  test("timers due in the same millisecond fire in the order set, whichever level each started on", () => {
    const { fired, add, wheel } = recordingWheel();
    add("set at 0", 100.5); // level 1 while the wheel is at 0
    wheel.fireDue(70); // the wheel moves on: the first timer moves down to level 0
    add("set at 70", 100.1); // straight into level 0, same tick 101
    add("set at 70, earlier tick", 100);
    wheel.fireDue(101);
    expect(fired).toEqual(["set at 70, earlier tick", "set at 0", "set at 70"]);
  });

  test("a removed timer never fires; removing it twice, or after it fired, does nothing", () => {
    const { fired, add, wheel } = recordingWheel();
    const timers = Array.from({ length: 300 }, (_, index) => add(String(index), index * 37));
    for (const timer of timers.filter((_, index) => index % 3 === 0)) {
      wheel.remove(timer);
      wheel.remove(timer);
      expect(timer.wheelSlot).toBe(UNARMED);
    }
    expect(wheel.size).toBe(200);
    wheel.fireDue(300 * 37);
    expect(fired).toEqual(
      timers.filter((_, index) => index % 3 !== 0).map((_, index, kept) => String(Number(kept[index]!.deadline) / 37)),
    );
    wheel.remove(timers[1]!); // fired already
    expect(wheel.size).toBe(0);
  });

  test("a timer knows its wheel through its slot: removeTimer finds it, another wheel refuses to remove it", () => {
    const first = recordingWheel();
    const second = recordingWheel();
    const timer = first.add("on the first", 50);
    expect(timer.wheelSlot!.wheel).toBe(first.wheel);
    // The second wheel's links are not this timer's: removing it there would corrupt both.
    expect(() => second.wheel.remove(timer)).toThrow("this timer is set on another wheel");
    expect(first.wheel.size).toBe(1);
    removeTimer(timer);
    expect(timer.wheelSlot).toBe(UNARMED);
    expect(first.wheel.size).toBe(0);
    removeTimer(timer); // not set: nothing to do
    second.wheel.insert(timer); // free to be set on any wheel now
    expect(first.wheel.fireDue(50)).toBe(0);
    expect(second.wheel.fireDue(50)).toBe(1);
    expect(first.fired).toEqual(["on the first"]); // its waker is still the one it was made with
    removeTimer(timer); // fired: nothing to do
    expect(timer.wheelSlot).toBe(FIRED);
    expect(second.wheel.size).toBe(0);
  });

  test("a timer can be set again after it was removed, and after it fired; setting it twice is refused", () => {
    const { fired, wheel } = recordingWheel();
    const timer = new Timer(50, { wake: () => fired.push("again") });
    wheel.insert(timer);
    expect(() => wheel.insert(timer)).toThrow("set already");
    wheel.remove(timer);
    wheel.insert(timer);
    expect(wheel.size).toBe(1);
    wheel.fireDue(50);
    expect(fired).toEqual(["again"]);
    const late = new Timer(80, { wake: () => fired.push("late") });
    wheel.insert(late);
    wheel.fireDue(100);
    expect(fired).toEqual(["again", "late"]);
  });

  test("far deadlines: 30 days, beyond the top level's 795 days, and Infinity", () => {
    const { fired, add, wheel } = recordingWheel();
    const dayMs = 86_400_000;
    add("30 days", 30 * dayMs);
    add("2000 days", 2000 * dayMs);
    const never = add("never", Infinity);
    // 30 days is further than a poller wait can be (2^31 - 1 ms): the driver waits that long,
    // and again.
    expect(wheel.timeoutMs(0, -1)).toBe(0x7fff_ffff);
    expect(wheel.timeoutMs(29 * dayMs, -1)).toBe(dayMs);
    wheel.fireDue(30 * dayMs - 1);
    expect(fired).toEqual([]);
    wheel.fireDue(30 * dayMs);
    expect(fired).toEqual(["30 days"]);
    // Past the top level's reach: looked at again, not fired, until its time.
    for (const day of [800, 1600, 1999]) wheel.fireDue(day * dayMs);
    expect(fired).toEqual(["30 days"]);
    expect(wheel.timeoutMs(1999 * dayMs, -1)).toBe(dayMs);
    wheel.fireDue(2000 * dayMs);
    expect(fired).toEqual(["30 days", "2000 days"]);
    wheel.fireDue(5000 * dayMs);
    expect(fired).toEqual(["30 days", "2000 days"]);
    expect(wheel.size).toBe(1);
    expect(wheel.timeoutMs(5000 * dayMs, -1)).toBe(0x7fff_ffff); // the longest wait, for a timer that never fires
    wheel.remove(never);
    expect(wheel.size).toBe(0);
    expect(wheel.timeoutMs(5000 * dayMs, -1)).toBe(-1);
  });

  test("a deadline beyond the top level's reach, set once the top level has left its first slot, waits a rotation", () => {
    // The top level's slots are 2^30 ms (12.4 days): 20 days on, the wheel is in its second. A
    // far timer set then used to go into that present slot, which reads as due: fireDue moved
    // it there again and again and never returned.
    const { fired, add, wheel } = recordingWheel();
    const dayMs = 86_400_000;
    wheel.fireDue(20 * dayMs);
    add("2020 days", 2020 * dayMs);
    add("never", Infinity);
    wheel.fireDue(20 * dayMs + 1);
    for (const day of [800, 1600, 2019]) wheel.fireDue(day * dayMs);
    expect(fired).toEqual([]);
    wheel.fireDue(2020 * dayMs);
    expect(fired).toEqual(["2020 days"]);
    expect(wheel.size).toBe(1);
  }, 10_000);

  test("the wait is rounded up, exact for a timer on a higher level, and capped by the limit", () => {
    const { wheel, add } = recordingWheel();
    add("t", 5_000.4);
    expect(wheel.timeoutMs(0, -1)).toBe(5_001);
    expect(wheel.timeoutMs(0, 20)).toBe(20);
    expect(wheel.timeoutMs(6_000, -1)).toBe(0);
  });

  test("a deadline already past is due at the next fireDue; NaN is refused", () => {
    const { fired, add, wheel } = recordingWheel();
    wheel.fireDue(1_000);
    add("past", 10);
    expect(wheel.timeoutMs(1_000, -1)).toBe(0);
    wheel.fireDue(1_000);
    expect(fired).toEqual(["past"]);
    expect(() => add("nan", Number.NaN)).toThrow("NaN");
    expect(() => wheel.fireDue(Number.NaN)).toThrow("NaN");
  });

  test("a long random run fires exactly what a sorted list would, in the same order", () => {
    const next = random(20261127);
    const wheel = new TimerWheel();
    const fired: number[] = [];
    const live = new Map<number, { timer: Timer; tick: number }>();
    const expected: number[] = [];
    let at = 0;
    let sequence = 0;
    for (let step = 0; step < 8_000; step++) {
      const choice = next();
      if (choice < 0.5) {
        // Deadlines from now to a few days ahead, spread over every level.
        const deadline = at + next() ** 6 * 300_000_000;
        const id = sequence++;
        const timer = wheel.add(deadline, { wake: () => fired.push(id) });
        live.set(id, { timer, tick: Math.ceil(deadline) });
      } else if (choice < 0.65 && live.size > 0) {
        const ids = [...live.keys()];
        const id = ids[Math.floor(next() * ids.length)]!;
        wheel.remove(live.get(id)!.timer);
        live.delete(id);
      } else {
        at += choice < 0.95 ? next() * 50 : next() * 10_000_000;
        const wait = wheel.timeoutMs(at, -1);
        const earliest = Math.min(...[...live.values()].map((entry) => entry.tick));
        if (live.size > 0) expect(wait).toBeLessThanOrEqual(Math.max(0, Math.ceil(earliest - at)));
        const due = [...live.entries()]
          .filter(([, entry]) => entry.tick <= Math.floor(at))
          .sort(([a, x], [b, y]) => x.tick - y.tick || a - b)
          .map(([id]) => id);
        for (const id of due) live.delete(id);
        expected.push(...due);
        wheel.fireDue(at);
        expect(fired).toEqual(expected);
        expect(wheel.size).toBe(live.size);
      }
    }
    expect(expected.length).toBeGreaterThan(1_000);
  });
});

describe("Sleep on the wheel", () => {
  test("a sleep is its own timer: armed by its first poll, removed when dropped, armed again when polled again", () => {
    using runtime = new Runtime();
    const cx = new Context(noopWaker, 0, runtime);
    const nap = sleep(10_000);
    expect(nap.poll(cx)).toBe(PENDING);
    expect(runtime.timers.size).toBe(1);
    expect(nap.poll(cx)).toBe(PENDING); // polled again: still one timer
    expect(runtime.timers.size).toBe(1);
    nap.drop();
    expect(runtime.timers.size).toBe(0);
    expect(nap.poll(cx)).toBe(PENDING);
    expect(runtime.timers.size).toBe(1);
    nap.drop();
    expect(runtime.timers.size).toBe(0);
  });

  test("a fired sleep is ready, and its wheel entry is gone", () => {
    using runtime = new Runtime();
    let woken = 0;
    const cx = new Context({ wake: () => woken++ }, 0, runtime);
    const nap = sleep(5);
    expect(nap.poll(cx)).toBe(PENDING);
    runtime.timers.fireDue(now() + 10);
    expect(woken).toBe(1);
    expect((nap as TimerEntry).wheelSlot).toBe(FIRED);
    expect(runtime.timers.size).toBe(0);
    expect(nap.poll(cx)).toBeUndefined();
  });
});
