/**
 * The Bun column of `bench/runtime.ts`: the same workloads written with Bun's own
 * `async`/`await`, Promises and `setTimeout`, one per process.
 *
 * Usage: bun bench/runtime/bun.ts <runs> <workload> <sizes...>
 *
 * The workload runs `runs` times in this process, each run printing its line (see `report`).
 *
 * @module
 */
import { dispatch, report, runsOf, sleepMs, timerMs, type Workload } from "./measure.ts";

async function yields(tasks: number, count: number): Promise<number> {
  async function task(): Promise<void> {
    for (let index = 0; index < count; index++) await null;
  }
  const running = Array.from({ length: tasks }, () => task());
  for (const promise of running) await promise;
  return tasks * count;
}

async function spawns(tasks: number): Promise<number> {
  async function empty(): Promise<void> {}
  const running = Array.from({ length: tasks }, () => empty());
  for (const promise of running) await promise;
  return tasks;
}

/** A notification one async function awaits and another sets, as tokio's `Notify`. */
class Notify {
  #set = false;
  #resolve: (() => void) | null = null;

  notify(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    if (resolve === null) this.#set = true;
    else resolve();
  }

  notified(): Promise<void> | void {
    if (this.#set) {
      this.#set = false;
      return;
    }
    return new Promise<void>((resolve) => (this.#resolve = resolve));
  }
}

async function pingPong(rounds: number): Promise<number> {
  const ping = new Notify();
  const pong = new Notify();
  const other = (async () => {
    for (let index = 0; index < rounds; index++) {
      await ping.notified();
      pong.notify();
    }
  })();
  for (let index = 0; index < rounds; index++) {
    ping.notify();
    await pong.notified();
  }
  await other;
  return rounds * 2;
}

async function sleepers(tasks: number): Promise<number> {
  async function sleeper(ms: number): Promise<void> {
    await new Promise<void>((resolve) => setTimeout(resolve, ms));
  }
  const running = Array.from({ length: tasks }, (_, index) => sleeper(sleepMs(index)));
  for (const promise of running) await promise;
  return tasks;
}

function timers(count: number): number {
  const armed = Array.from({ length: count }, (_, index) =>
    setTimeout(() => {
      throw new Error("a timer fired early");
    }, timerMs(index)),
  );
  for (const timer of armed) clearTimeout(timer);
  return count;
}

async function selectRecv(rounds: number): Promise<number> {
  let deliver: ((length: number) => void) | null = null;
  const server = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: { data: (_socket, data) => deliver?.(data.byteLength) },
  });
  const client = await Bun.udpSocket({ hostname: "127.0.0.1" });
  const payload = new Uint8Array(32).fill(7);
  try {
    for (let index = 0; index < rounds; index++) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(-1), 1000)));
      const received = new Promise<number>((resolve) => (deliver = resolve));
      client.send(payload, server.port, "127.0.0.1");
      const length = await Promise.race([timedOut, received]);
      clearTimeout(timer);
      if (length !== payload.length) throw new Error("no datagram within a second");
    }
  } finally {
    server.close();
    client.close();
  }
  return rounds;
}

function workload(name: Workload, args: string[]): Promise<number> | number {
  return dispatch<Promise<number> | number>(name, args, `bun ${name}`, {
    yields,
    spawns,
    pingPong,
    sleepers,
    timers,
    selectRecv,
  });
}

const [runsArg, name, ...args] = process.argv.slice(2);
const runs = runsOf(runsArg, "bun");
await report(runs, () => workload(name as Workload, args));
