// bun-reactor/metrics: the text format, a runtime's figures (counted from the trace and the
// executor's turn observer, nothing when detached), a socket's, the server thread, and the
// figures registered in a real prom-client registry, checked by Prometheus' own promtool.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Registry, Counter as PromCounter } from "prom-client";
import { Runtime, sleep, spawn, UdpSocket, yieldNow } from "../src/index.ts";
import {
  formatExposition,
  type MetricFamily,
  registerMetrics,
  RuntimeMetrics,
  readSharedBlock,
  serveMetrics,
  socketMetrics,
} from "../src/metrics/index.ts";
import { runProcess } from "./helpers.ts";

/** `promtool check metrics` on `text`: its exit code and what it says. */
async function promtool(text: string) {
  return runProcess(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text) });
}

/** The value of the sample `line` (a name with its labels) in `text`. */
function valueOf(text: string, line: string): number {
  const found = text.split("\n").find((candidate) => candidate.startsWith(`${line} `));
  if (found === undefined) throw new Error(`no sample ${line} in:\n${text}`);
  return Number(found.slice(line.length + 1));
}

describe("formatExposition", () => {
  test("families of one name are written once, with escaped help and label values", () => {
    const family = (worker: string, value: number): MetricFamily => ({
      name: "jobs_total",
      help: 'Jobs done.\nBack\\slash "quoted"',
      type: "counter",
      samples: [{ suffix: "", labels: { worker }, value }],
    });
    expect(formatExposition([family("0", 1), family('a"b\n\\', Infinity)])).toBe(
      '# HELP jobs_total Jobs done.\\nBack\\\\slash "quoted"\n# TYPE jobs_total counter\n' +
        'jobs_total{worker="0"} 1\njobs_total{worker="a\\"b\\n\\\\"} +Inf\n',
    );
  });

  test("a name used for two types is refused, naming it", () => {
    const gauge: MetricFamily = { name: "x", help: "x", type: "gauge", samples: [] };
    expect(() => formatExposition([gauge, { ...gauge, type: "counter" }])).toThrow("metric x is both a gauge and a counter");
  });

  test("bad metric and label names are refused when the figures are made, not at a scrape", () => {
    using runtime = new Runtime();
    expect(() => new RuntimeMetrics(runtime, { labels: { "bad-label": "1" } })).toThrow('label name "bad-label"');
    expect(() => new RuntimeMetrics(runtime, { labels: { le: "1" } })).toThrow('label name "le"');
    expect(() => new RuntimeMetrics(runtime, { sampleEveryMs: 5 })).toThrow("sampleEveryMs 5 is not a whole number");
    expect(runtime.trace).toBeNull(); // nothing was attached
  });
});

describe("RuntimeMetrics", () => {
  test("counts every poll, times each in the histogram, and counts wakes by cause", () => {
    using runtime = new Runtime();
    using metrics = new RuntimeMetrics(runtime, { labels: { runtime: "test" } });
    runtime.blockOn(
      (function* () {
        const child = spawn(
          (function* () {
            yield* yieldNow(); // woken by itself
            yield* sleep(1); // woken by a timer
          })(),
        );
        yield* child; // woken by a join
      })(),
    );
    const text = metrics.exposition();
    const polls = valueOf(text, 'bun_reactor_polls_total{runtime="test"}');
    // async_main: first poll and its re-poll after the join; the child: three polls.
    expect(polls).toBe(5);
    expect(valueOf(text, 'bun_reactor_poll_duration_seconds_count{runtime="test"}')).toBe(polls);
    expect(valueOf(text, 'bun_reactor_poll_duration_seconds_bucket{runtime="test",le="+Inf"}')).toBe(polls);
    expect(valueOf(text, 'bun_reactor_tasks_spawned_total{runtime="test"}')).toBe(2);
    expect(valueOf(text, 'bun_reactor_wakes_total{runtime="test",cause="itself"}')).toBe(1);
    expect(valueOf(text, 'bun_reactor_wakes_total{runtime="test",cause="timer"}')).toBe(1);
    expect(valueOf(text, 'bun_reactor_wakes_total{runtime="test",cause="join"}')).toBe(1);
    expect(valueOf(text, 'bun_reactor_turn_duration_seconds_count{runtime="test"}')).toBeGreaterThan(0);
    expect(valueOf(text, 'bun_reactor_tasks_alive{runtime="test"}')).toBe(0);
  });

  test("forget() counts anew from zero, and samples the gauges again", () => {
    using runtime = new Runtime();
    using metrics = new RuntimeMetrics(runtime);
    runtime.blockOn(sleep(1));
    const sleeper = runtime.spawn(sleep(60_000));
    runtime.blockOn(yieldNow());
    expect(valueOf(metrics.exposition(), "bun_reactor_polls_total")).toBeGreaterThan(0);
    metrics.forget();
    const text = formatExposition(readSharedBlock(metrics.block)); // as another thread reads it
    for (const name of ["polls_total", "poll_duration_seconds_count", "turn_duration_seconds_count", "tasks_spawned_total"]) {
      expect(valueOf(text, `bun_reactor_${name}`)).toBe(0);
    }
    expect([valueOf(text, "bun_reactor_tasks_alive"), valueOf(text, "bun_reactor_timers")]).toEqual([1, 1]);
    runtime.blockOn(yieldNow()); // counted again from here
    expect(valueOf(metrics.exposition(), "bun_reactor_polls_total")).toBe(2);
    sleeper.cancel();
  });

  test("gauges are sampled on the runtime's thread: tasks alive, registrations, timers", () => {
    using runtime = new Runtime();
    using metrics = new RuntimeMetrics(runtime);
    using socket = UdpSocket.bind("127.0.0.1:0");
    const reader = runtime.spawn(socket.recvFrom(new Uint8Array(8)));
    const sleeper = runtime.spawn(sleep(60_000));
    runtime.blockOn(yieldNow());
    const text = metrics.exposition();
    expect(valueOf(text, "bun_reactor_tasks_alive")).toBe(2);
    expect(valueOf(text, "bun_reactor_registrations")).toBe(1);
    expect(valueOf(text, "bun_reactor_timers")).toBe(1);
    reader.cancel();
    sleeper.cancel();
  });

  test("once closed, the runtime's trace hook and turn observer are what they were before", () => {
    const before = () => {};
    using runtime = new Runtime({ trace: before });
    const metrics = new RuntimeMetrics(runtime);
    expect(runtime.trace).not.toBe(before);
    expect(runtime.executor.turnObserver).not.toBeNull();
    metrics.close();
    expect(runtime.trace).toBe(before);
    expect(runtime.executor.turnObserver).toBeNull();
    runtime.blockOn(yieldNow());
    expect(valueOf(formatExposition(readSharedBlock(metrics.block)), "bun_reactor_polls_total")).toBe(0);
  });

  test("promtool check metrics passes on a runtime's and a socket's figures", async () => {
    using runtime = new Runtime();
    using metrics = new RuntimeMetrics(runtime, { labels: { worker: "0" } });
    using socket = UdpSocket.bind("127.0.0.1:0");
    runtime.blockOn(sleep(1));
    const result = await promtool(formatExposition([...metrics.collect(), ...socketMetrics(socket)]));
    expect(result.stdout + result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
  });
});

describe("socketMetrics", () => {
  test("a socket's kernel drops and buffers, labelled with its address", () => {
    using socket = UdpSocket.bind("127.0.0.1:0", { recvBufferBytes: 65536 });
    const text = formatExposition(socketMetrics(socket, { role: "echo" }));
    const labels = `{socket="127.0.0.1:${socket.localAddress.port}",role="echo"}`;
    expect(valueOf(text, `bun_reactor_socket_receive_buffer_bytes${labels}`)).toBe(socket.option("recvBuffer"));
    expect(valueOf(text, `bun_reactor_socket_kernel_dropped_datagrams_total${labels}`)).toBe(0);
  });
});

describe("serveMetrics", () => {
  test("serves GET /metrics from its own thread, and refuses other methods", async () => {
    using runtime = new Runtime();
    using metrics = new RuntimeMetrics(runtime);
    using served = serveMetrics({ port: 0, blocks: [metrics.block] });
    runtime.blockOn(yieldNow()); // two polls: the yield, then the re-poll after it
    const response = await fetch(served.url);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(valueOf(await response.text(), "bun_reactor_polls_total")).toBe(2);
    expect((await fetch(served.url, { method: "POST" })).status).toBe(405);
  });

  test("a port in use is refused with a message that names the address", () => {
    using runtime = new Runtime();
    using metrics = new RuntimeMetrics(runtime);
    using first = serveMetrics({ port: 0, blocks: [metrics.block] });
    const port = Number(new URL(first.url).port);
    expect(() => serveMetrics({ port, blocks: [metrics.block] })).toThrow(`Cannot serve the metrics on 127.0.0.1:${port}`);
  });

  test("a scrape is answered while the runtime's thread is blocked inside a task", async () => {
    const result = await runProcess(["bun", join(import.meta.dir, "fixtures", "metrics-blocked.ts")], { timeoutMs: 60_000 });
    expect(result.stderr).toBe("");
    // "ok": woken by the helper after its scrape, not "timed-out"; the scrape saw the poll in progress.
    expect(result.stdout.trim()).toBe("wait: ok, scraped polls: 1");
  }, 60_000);
});

describe("registerMetrics with prom-client", () => {
  test("a runtime's figures appear in the app's registry beside its own, and promtool accepts the whole", async () => {
    const registry = new Registry();
    const requests = new PromCounter({ name: "app_requests_total", help: "Requests.", registers: [registry] });
    requests.inc(3);
    using runtime = new Runtime();
    using metrics = new RuntimeMetrics(runtime);
    using socket = UdpSocket.bind("127.0.0.1:0");
    let collected = 0;
    const unregister = registerMetrics(registry, () => {
      collected++;
      return [...metrics.collect(), ...socketMetrics(socket)];
    });
    runtime.blockOn(sleep(1));
    collected = 0;
    const text = await registry.metrics();
    expect(collected).toBe(1); // once per scrape, not once per family
    expect(valueOf(text, "app_requests_total")).toBe(3);
    expect(valueOf(text, "bun_reactor_polls_total")).toBe(2);
    expect(valueOf(text, "bun_reactor_poll_duration_seconds_count")).toBe(2);
    expect(text).toContain(`bun_reactor_socket_receive_buffer_bytes{socket="127.0.0.1:${socket.localAddress.port}"}`);
    const checked = await promtool(text);
    expect(checked.stdout + checked.stderr).toBe("");
    expect(checked.exitCode).toBe(0);
    unregister();
    expect(await registry.metrics()).not.toContain("bun_reactor_");
  });

  test("registering a name the registry already has fails with prom-client's error", () => {
    const registry = new Registry();
    using runtime = new Runtime();
    using metrics = new RuntimeMetrics(runtime);
    registerMetrics(registry, () => metrics.collect());
    expect(() => registerMetrics(registry, () => metrics.collect())).toThrow("bun_reactor_tasks_alive");
  });
});
