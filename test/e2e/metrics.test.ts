// udp-echo --metrics: the compiled executable's Prometheus endpoint, checked by Prometheus' own
// tools: promtool on a scrape, and a real Prometheus server scraping it and answering a rate()
// of the echoed datagrams through its HTTP API.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runProcess } from "../helpers.ts";
import { ensureBuilt, type RunningServer, startServer } from "./server.ts";

const clients = join(import.meta.dir, "..", "clients");
setDefaultTimeout(120_000);

beforeAll(async () => {
  await ensureBuilt();
});

/** The metrics URL the server printed. */
function metricsUrl(server: RunningServer): string {
  const url = /^metrics: (http:\/\/\S+)$/m.exec(server.stdout())?.[1];
  if (url === undefined) throw new Error(`no metrics line in:\n${server.stdout()}`);
  return url;
}

/** The value of the sample `line` (a name with its labels) in `text`. */
function valueOf(text: string, line: string): number {
  const found = text.split("\n").find((candidate) => candidate.startsWith(`${line} `));
  if (found === undefined) throw new Error(`no sample ${line} in:\n${text}`);
  return Number(found.slice(line.length + 1));
}

/** Sends `count` datagrams from Python, each waiting for its echo; resolves when all came back. */
async function echoes(port: number, count: number): Promise<void> {
  const sizes = Array.from({ length: count }, () => "10");
  const result = await runProcess(["python3", join(clients, "python-client.py"), "127.0.0.1", String(port), ...sizes]);
  expect(result.stdout.trim().split("\n")).toEqual(sizes.map(() => "ok 10"));
}

/** A TCP port free on loopback now. */
async function freeTcpPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe("udp-echo --metrics", () => {
  test("a scrape counts the echoed datagrams and bytes, and promtool check metrics passes on it", async () => {
    await using server = await startServer(["--port", "0", "--metrics", "0"]);
    await echoes(server.port, 7);
    const response = await fetch(metricsUrl(server));
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    expect(valueOf(text, "udp_echo_received_datagrams_total")).toBe(7);
    expect(valueOf(text, "udp_echo_sent_datagrams_total")).toBe(7);
    expect(valueOf(text, "udp_echo_sent_bytes_total")).toBe(70);
    expect(valueOf(text, 'udp_echo_dropped_datagrams_total{reason="oversized"}')).toBe(0);
    // From the service's first step: the warm-up before the ready line, counted by the same
    // code, took tens of thousands of polls and is forgotten.
    expect(valueOf(text, "bun_reactor_polls_total")).toBeGreaterThan(0);
    expect(valueOf(text, "bun_reactor_polls_total")).toBeLessThan(1_000);
    expect(valueOf(text, "bun_reactor_poll_duration_seconds_count")).toBe(valueOf(text, "bun_reactor_polls_total"));
    expect(text).toContain("# TYPE bun_reactor_turn_duration_seconds histogram");
    const checked = await runProcess(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text) });
    expect(checked.stdout + checked.stderr).toBe("");
    expect(checked.exitCode).toBe(0);
  });

  test("with --workers 2 each worker's echo and runtime are a series labelled worker, and promtool passes", async () => {
    await using server = await startServer(["--port", "0", "--workers", "2", "--metrics", "0"]);
    await echoes(server.port, 20);
    const text = await (await fetch(metricsUrl(server))).text();
    const received = [0, 1].map((worker) => valueOf(text, `udp_echo_received_datagrams_total{worker="${worker}"}`));
    expect(received[0]! + received[1]!).toBe(20);
    for (const worker of [0, 1]) expect(valueOf(text, `bun_reactor_polls_total{worker="${worker}"}`)).toBeGreaterThan(0);
    expect(text.match(/^# TYPE udp_echo_received_datagrams_total counter$/gm)).toHaveLength(1);
    const checked = await runProcess(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text) });
    expect(checked.stdout + checked.stderr).toBe("");
    expect(checked.exitCode).toBe(0);
  });

  test("a metrics port in use ends the server with one line that names it, exit 1", async () => {
    await using first = await startServer(["--port", "0", "--metrics", "0"]);
    const port = new URL(metricsUrl(first)).port;
    const result = await runProcess([await ensureBuilt(), "--port", "0", "--metrics", port]);
    expect(result.stderr).toStartWith(`udp-echo: Cannot serve the metrics on 127.0.0.1:${port}: `);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.exitCode).toBe(1);
  });

  test("a real Prometheus server scrapes it, and its HTTP API answers a rate() of the echoed datagrams", async () => {
    await using server = await startServer(["--port", "0", "--metrics", "0"]);
    const target = new URL(metricsUrl(server)).host;
    const dir = mkdtempSync(join(tmpdir(), "udp-echo-prometheus-"));
    const prometheusPort = await freeTcpPort();
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: udp-echo",
        "    static_configs:",
        `      - targets: ["${target}"]`,
        "",
      ].join("\n"),
    );
    const prometheus = Bun.spawn(
      [
        "prometheus",
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
        "--log.level=warn",
      ],
      { stdout: "ignore", stderr: "pipe" },
    );
    // A steady client for the whole test: 100 datagrams a second, each waiting for its echo.
    const client = Bun.spawn(["python3", join(clients, "steady-client.py"), "127.0.0.1", String(server.port), "100", "60"], {
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      const query = `rate(udp_echo_sent_datagrams_total{job="udp-echo"}[5s])`;
      const api = `http://127.0.0.1:${prometheusPort}/api/v1/query?query=${encodeURIComponent(query)}`;
      let rate: number | null = null;
      const deadline = performance.now() + 60_000;
      while (rate === null || rate === 0) {
        if (prometheus.exitCode !== null || performance.now() > deadline) {
          const stderr = await new Response(prometheus.stderr).text();
          throw new Error(`no rate from Prometheus (exit ${prometheus.exitCode}; last rate ${rate}):\n${stderr}`);
        }
        await Bun.sleep(250);
        try {
          const body = (await (await fetch(api)).json()) as { data?: { result?: { value: [number, string] }[] } };
          const value = body.data?.result?.[0]?.value[1];
          if (value !== undefined) rate = Number(value);
        } catch {
          // Prometheus is still starting: its port does not answer yet.
        }
      }
      // The client sends at most 100 a second (rate() extrapolates a little): far above, it would count something else.
      expect(rate).toBeGreaterThan(0);
      expect(rate).toBeLessThanOrEqual(150);
    } finally {
      client.kill();
      prometheus.kill();
      await prometheus.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
