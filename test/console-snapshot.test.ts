// The console's snapshot, without a browser: what it lists, what it warns about, and its bound.
import { expect, test } from "bun:test";
import { serveConsole } from "../src/console/console.ts";
import { SNAPSHOT_ROWS_MAX, takeSnapshot } from "../src/console/snapshot.ts";
import { ActivityTracker } from "../src/console/tracker.ts";
import { type Async, PENDING, pollFn, ready } from "../src/runtime/future.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { sleep } from "../src/runtime/timers.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { threadCpuMs } from "../src/sys/thread-cpu.ts";

function trackedRuntime(): { runtime: Runtime; tracker: ActivityTracker } {
  const tracker = new ActivityTracker();
  return { runtime: new Runtime({ trace: tracker.hook }), tracker };
}

test("A snapshot lists at most SNAPSHOT_ROWS_MAX tasks and says how many are alive", () => {
  const { runtime, tracker } = trackedRuntime();
  using _ = runtime;
  const count = SNAPSHOT_ROWS_MAX + 100;
  for (let index = 0; index < count; index++) runtime.spawn(sleep(60_000), { name: `sleeper ${index}` });
  runtime.enter(() => runtime.executor.runReady()); // each sets its timer and waits

  const view = takeSnapshot(runtime, tracker, null);
  expect(view.tasks.length).toBe(SNAPSHOT_ROWS_MAX);
  expect(view.tasksAlive).toBe(count);
  expect(view.tasks[0]).toMatchObject({ name: "sleeper 0", state: "idle", polls: 1, lastWake: null });
  expect(view.timers.count).toBe(count);
  // Waiting on a timer took the waker: no lost wake.
  expect(view.warnings).toEqual([]);
});

test("A task pending with its waker stored nowhere is a lost wake; one awaiting a socket is not", () => {
  const { runtime, tracker } = trackedRuntime();
  using _ = runtime;
  using socket = UdpSocket.bind("127.0.0.1:0");
  const forgotten = runtime.spawn(
    pollFn(() => PENDING),
    { name: "forgotten" },
  );
  const reader = runtime.spawn(socket.recvFrom(new Uint8Array(16)), { name: "reader" });
  runtime.enter(() => runtime.executor.runReady());

  const view = takeSnapshot(runtime, tracker, null);
  expect(view.warnings).toEqual([
    {
      kind: "lost-wake",
      task: forgotten.id,
      message: `task ${forgotten.id} (forgotten) is pending, but its last poll stored its waker nowhere: nothing can wake it`,
    },
  ]);
  const entry = view.reactor.find((registration) => registration.owner === `UdpSocket 127.0.0.1:${socket.localAddress.port}`);
  expect(entry?.read).toEqual({ status: "awaited", tasks: [reader.id] });
});

test("A task that wakes itself in most of its polls is warned about once it has had ten", () => {
  const { runtime, tracker } = trackedRuntime();
  using _ = runtime;
  const spinner = runtime.spawn(
    pollFn((cx) => {
      cx.waker.wake();
      return PENDING;
    }),
    { name: "spinner" },
  );
  runtime.enter(() => {
    for (let turn = 0; turn < 9; turn++) runtime.executor.runReady();
  });
  expect(takeSnapshot(runtime, tracker, null).warnings).toEqual([]);
  runtime.enter(() => runtime.executor.runReady());
  const view = takeSnapshot(runtime, tracker, null);
  expect(view.tasks[0]).toMatchObject({ id: spinner.id, polls: 10, selfWakes: 10, lastWake: "itself" });
  expect(view.warnings.map((warning) => warning.kind)).toEqual(["self-wake"]);
});

test("A poll over 1 ms after the first is counted as slow, without a warning; the first is not counted", () => {
  const { runtime, tracker } = trackedRuntime();
  using _ = runtime;
  const spin = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };
  let polls = 0;
  const task = runtime.spawn(
    pollFn((cx) => {
      polls++;
      // The first poll and the third spin past 1 ms; the second and the fourth return at once.
      if (polls === 1 || polls === 3) spin(2);
      cx.waker.wake();
      return PENDING;
    }),
    { name: "spiky" },
  );
  runtime.enter(() => runtime.executor.runReady());
  expect(takeSnapshot(runtime, tracker, null).tasks[0]).toMatchObject({ id: task.id, polls: 1, slowPolls: 0 });
  runtime.enter(() => {
    for (let turn = 0; turn < 3; turn++) runtime.executor.runReady();
  });
  const view = takeSnapshot(runtime, tracker, null);
  expect(view.tasks[0]).toMatchObject({ id: task.id, polls: 4, slowPolls: 1 });
  expect(view.tasks[0]!.maxPollMs).toBeGreaterThanOrEqual(2);
  // Slow is not long (10 ms): the console stays quiet.
  expect(view.warnings.filter((warning) => warning.kind === "long-poll")).toEqual([]);
  task.cancel();
});

test("A slow poll is told apart by the thread's CPU time: its own work is slow on CPU, time off the core is not", () => {
  const { runtime, tracker } = trackedRuntime();
  using _ = runtime;
  let polls = 0;
  const task = runtime.spawn(
    pollFn((cx) => {
      polls++;
      if (polls === 2) {
        // Its own work: 3 ms of this thread's CPU time.
        const until = threadCpuMs() + 3;
        while (threadCpuMs() < until);
      } else if (polls === 3) {
        // Off the core for 3 ms, as when the OS gives the core to another thread mid-poll.
        Bun.sleepSync(3);
      }
      cx.waker.wake();
      return PENDING;
    }),
    { name: "two kinds of slow" },
  );
  runtime.enter(() => {
    for (let turn = 0; turn < 3; turn++) runtime.executor.runReady();
  });
  const view = takeSnapshot(runtime, tracker, null);
  expect(view.tasks[0]).toMatchObject({ id: task.id, polls: 3, slowPolls: 2, slowCpuPolls: 1 });
  expect(view.tasks[0]!.maxPollCpuMs).toBeGreaterThanOrEqual(3);
  expect(view.tasks[0]!.maxPollMs).toBeGreaterThanOrEqual(3);
  task.cancel();
});

test("A task cut short by the turn's time, poll after poll, is not warned about as waking itself", () => {
  const tracker = new ActivityTracker();
  let clockMs = 0;
  // Each read of the turn's clock moves it 1 ms on: a 5 ms turn lets a poll take a few steps.
  using runtime = new Runtime({ trace: tracker.hook, turnBudgetMs: 5, turnClock: () => clockMs++ });
  const busy = runtime.spawn(
    (function* (): Async<never> {
      for (;;) yield* ready(1); // always ready: only the turn's time ends its polls
    })(),
    { name: "busy" },
  );
  for (let turn = 0; turn < 20; turn++) runtime.turn();
  const view = takeSnapshot(runtime, tracker, null);
  expect(view.tasks[0]!.polls).toBeGreaterThanOrEqual(20);
  expect(view.tasks[0]).toMatchObject({ id: busy.id, selfWakes: 0, lastWake: "itself" });
  expect(view.warnings).toEqual([]);
  busy.cancel();
});

test("forget() counts anew from now: steps, polls and warnings at zero, finished tasks gone, live tasks named still", () => {
  const { runtime, tracker } = trackedRuntime();
  using _ = runtime;
  let polls = 0;
  runtime.spawn(
    pollFn((cx) => {
      if (++polls === 1) {
        cx.waker.wake();
        return PENDING;
      }
      Bun.sleepSync(12); // a long poll (over 10 ms, and not the first): warned about
      return 1;
    }),
    { name: "finished early" },
  );
  const sleeper = runtime.spawn(sleep(60_000), { name: "still here" });
  runtime.enter(() => {
    for (let turn = 0; turn < 2; turn++) runtime.executor.runReady();
  });
  const before = takeSnapshot(runtime, tracker, null);
  expect(before.tasks.map((task) => task.name)).toEqual(["still here", "finished early"]);
  expect(before.warnings.map((warning) => warning.kind)).toEqual(["long-poll"]);
  expect(before.steps[2]).toBe(2); // two first polls

  tracker.forget();
  const after = takeSnapshot(runtime, tracker, null);
  expect(after.steps.every((count) => count === 0)).toBe(true);
  expect(after.tasks).toHaveLength(1);
  // (Its polls are the runtime's count, not the tracker's: those stay.)
  expect(after.tasks[0]).toMatchObject({ id: sleeper.id, name: "still here", busyMs: 0, sinceLastPollMs: null, maxPollMs: 0 });
  expect(after.warnings).toEqual([]);
  sleeper.cancel();
});

test("serveConsole refuses a closed runtime, naming why, before its server thread starts listening", () => {
  const runtime = new Runtime();
  runtime.close();
  expect(() => serveConsole(runtime, { port: 0 })).toThrow("Cannot serve the console: the runtime is closed");
});

test("serveConsole refuses bad options, named, before warning about the host", () => {
  using runtime = new Runtime();
  const warnings: string[] = [];
  const warn = (line: string) => void warnings.push(line);
  expect(() => serveConsole(runtime, { host: "0.0.0.0", port: 70000, warn })).toThrow(
    "console port 70000 is not a whole number from 0 to 65535",
  );
  expect(() => serveConsole(runtime, { host: "0.0.0.0", port: 0, intervalMs: 5, warn })).toThrow("intervalMs 5");
  expect(() => serveConsole(runtime, { host: "localhost", port: 0, warn })).toThrow('"localhost"');
  expect(warnings).toEqual([]);
});
