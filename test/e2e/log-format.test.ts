// udp-echo --log-format json: every line it prints is one JSON object with stable keys, for
// journald and log shippers; the counters are numbers, the text line is kept in `message`.
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runProcess } from "../helpers.ts";
import { ensureBuilt, runServer, startServer } from "./server.ts";

const clients = join(import.meta.dir, "..", "clients");

beforeAll(async () => {
  await ensureBuilt();
});

/** Each line of `text` parsed as JSON (a line that is not JSON fails the test, named). */
function records(text: string): Record<string, unknown>[] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
}

describe("udp-echo --log-format json", () => {
  test("the ready line, metrics, stats and totals are JSON objects with time, level, event, message and their figures", async () => {
    await using server = await startServer(["--port", "0", "--log-format", "json", "--stats", "0.2", "--metrics", "0"]);
    // (startServer waits for the ready line's text, which the JSON object carries in `message`.)
    const echoed = await runProcess(["python3", join(clients, "python-client.py"), "127.0.0.1", String(server.port), "5", "5"]);
    expect(echoed.stdout).toBe("ok 5\nok 5\n");
    const deadline = performance.now() + 10_000;
    while (!/"event":"stats".*"datagrams_in":2/.test(server.stdout()) && performance.now() < deadline) await Bun.sleep(20);
    const { exitCode, stdout, stderr } = await server.stop();
    expect(exitCode).toBe(0);
    expect(stderr).toBe("");
    const lines = records(stdout);
    for (const line of lines) {
      expect(Object.keys(line).slice(0, 4)).toEqual(["time", "level", "event", "message"]);
      expect(new Date(line.time as string).toISOString()).toBe(line.time as string);
      expect(line.level).toBe("info");
    }
    const events = lines.map((line) => line.event);
    expect(events[0]).toBe("metrics");
    expect(events[1]).toBe("ready");
    expect(events.at(-1)).toBe("totals");
    expect(events.slice(2, -1).every((event) => event === "stats")).toBe(true);
    const ready = lines[1]!;
    expect(ready).toMatchObject({
      addresses: [`127.0.0.1:${server.port}`],
      socket_activation: false,
      workers: 1,
      reactor: "inline",
    });
    expect(ready.message).toStartWith("udp-echo listening on 127.0.0.1:");
    expect(lines.at(-1)).toMatchObject({ datagrams_in: 2, bytes_in: 10, datagrams_out: 2, bytes_out: 10, dropped_oversized: 0 });
    const counted = lines.filter((line) => line.event === "stats").reduce((sum, line) => sum + (line.datagrams_out as number), 0);
    expect(counted).toBe(2);
  });

  test("a warning goes to standard error as a JSON object of level warning", async () => {
    await using server = await startServer(["--host", "0.0.0.0", "--port", "0", "--log-format", "json"]);
    const { stderr } = await server.stop();
    const [warning] = records(stderr);
    expect(warning).toMatchObject({ level: "warning", event: "warning" });
    expect(warning!.message).toStartWith("udp-echo: warning: listening on 0.0.0.0 without --rate-limit");
  });

  test("a value other than text or json is refused, named, exit 2", async () => {
    const result = await runServer(["--log-format", "yaml"]);
    expect(result.stderr).toStartWith('udp-echo: invalid value for --log-format: "yaml" is neither "text" nor "json"\n');
    expect(result.exitCode).toBe(2);
  });
});
