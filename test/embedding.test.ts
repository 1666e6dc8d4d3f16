// The runtime inside a Bun app, beside Bun's own event loop (the "embedded" driver). The test
// runner is such an app itself.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Async, DatagramBatch, Runtime, RuntimeError, sleep, TaskCancelledError, UdpSocket } from "../src/index.ts";
import { fromPromise } from "../src/runtime/promise.ts";
import { runProcess } from "./helpers.ts";

const root = join(import.meta.dir, "..");

function* echo(socket: UdpSocket): Async<never> {
  const batch = new DatagramBatch(32, 2048);
  for (;;) {
    const count = yield* socket.recvBatch(batch);
    yield* socket.sendBatch(batch, count);
  }
}

describe("an embedded runtime", () => {
  test("HTTP and UDP are answered concurrently by one process, and timers and Promises keep running", async () => {
    await using runtime = new Runtime({ driver: "embedded" });
    using server = UdpSocket.bind("127.0.0.1:0");
    runtime.spawn(echo(server));
    const http = Bun.serve({ port: 0, fetch: () => new Response("http ok") });
    let intervalTicks = 0;
    const interval = setInterval(() => intervalTicks++, 5);
    try {
      // 200 UDP round trips on our runtime, while HTTP requests go to Bun.serve at the same time.
      using client = UdpSocket.bind("127.0.0.1:0");
      const udp = runtime
        .spawn(
          (function* (): Async<number> {
            let echoed = 0;
            for (let index = 0; index < 200; index++) {
              yield* client.sendTo(new TextEncoder().encode(`datagram ${index}`), server.localAddress);
              const { bytes } = yield* client.recvFrom(new Uint8Array(64));
              if (new TextDecoder().decode(bytes) === `datagram ${index}`) echoed++;
              if (index % 20 === 0) yield* sleep(2);
            }
            return echoed;
          })(),
        )
        .promise();
      const requests = Array.from({ length: 50 }, () =>
        fetch(`http://127.0.0.1:${http.port}/`).then((response) => response.text()),
      );
      const [echoed, bodies] = await Promise.all([udp, Promise.all(requests)]);
      expect(echoed).toBe(200);
      expect(bodies.every((body) => body === "http ok")).toBe(true);
      expect(intervalTicks).toBeGreaterThan(0);
    } finally {
      clearInterval(interval);
      await http.stop(true);
    }
  });

  test("a task waits on a Promise from the app, and the app awaits the task as a Promise", async () => {
    await using runtime = new Runtime({ driver: "embedded" });
    const { promise, resolve } = Promise.withResolvers<number>();
    const handle = runtime.spawn(
      (function* (): Async<number> {
        const value = yield* fromPromise(promise);
        yield* sleep(5);
        return value * 2;
      })(),
    );
    setTimeout(() => resolve(21), 10);
    expect(await handle.promise()).toBe(42);
  });

  test("a rejected Promise throws inside the task, and a failed task rejects its Promise", async () => {
    await using runtime = new Runtime({ driver: "embedded" });
    const handle = runtime.spawn(
      (function* (): Async<string> {
        try {
          yield* fromPromise(Promise.reject(new Error("app said no")));
          return "unreachable";
        } catch (error) {
          throw new Error(`task saw: ${(error as Error).message}`);
        }
      })(),
    );
    await expect(handle.promise()).rejects.toThrow("task saw: app said no");
  });

  test("a cancelled task rejects its Promise with TaskCancelledError", async () => {
    await using runtime = new Runtime({ driver: "embedded" });
    const handle = runtime.spawn(sleep(10_000));
    const settled = handle.promise().catch((error: unknown) => error);
    await Bun.sleep(5);
    handle.cancel();
    expect(await settled).toBeInstanceOf(TaskCancelledError);
  });

  test("blockOn and run are refused: they would block Bun's event loop", () => {
    using runtime = new Runtime({ driver: "embedded" });
    expect(() => runtime.blockOn(sleep(1))).toThrow(RuntimeError);
    expect(() => runtime.run()).toThrow("run() would block Bun's event loop");
  });

  test("when the app cancels the last task from outside the runtime, the process exits by itself (subprocess)", async () => {
    // Killed after 5 s: a process kept alive by a stray reference would fail here.
    const { stdout, exitCode } = await runProcess([process.execPath, join(root, "test", "fixtures", "embedded-cancel-exit.ts")], {
      timeoutMs: 5000,
    });
    expect({ stdout, exitCode }).toEqual({ stdout: "cancelled; tasks alive 0\n", exitCode: 0 });
  });

  test("after close() the process exits by itself, with nothing left running (subprocess)", async () => {
    const { stdout, stderr, exitCode } = await runProcess(
      [process.execPath, join(root, "test", "fixtures", "embedded-exit.ts")],
      {
        timeoutMs: 5000,
      },
    );
    expect(stderr).toBe("");
    expect(exitCode).toBe(0);
    expect(stdout).toBe("echoed ping\nclosed: socket closed true, tasks 0\n");
  });
});
