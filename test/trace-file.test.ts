// The Chrome trace file: a real exchange on a socket is recorded, the JSON parsed back, and the
// shape Perfetto relies on checked: slices nest on each track, flows go from an OS event on the
// reactor's track to a later poll of the task it woke, and the limit on events holds.
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { heapStats } from "bun:jsc";
import { type ChromeTraceEvent, TraceFile } from "../src/console/trace-file.ts";
import type { Async } from "../src/runtime/future.ts";
import type { DriverName } from "../src/runtime/driver.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { traceEvent } from "../src/runtime/trace.ts";
import { sleep } from "../src/runtime/timers.ts";
import { UdpSocket } from "../src/net/udp-socket.ts";
import { drivers } from "./helpers.ts";

/**
 * Three datagrams from one task to another, the receiver waiting in the reactor each time: the
 * next one is sent only once the last one has been received.
 */
function recordExchange(driver: DriverName, file: TraceFile): void {
  using runtime = new Runtime({ driver, trace: file.hook });
  using server = UdpSocket.bind("127.0.0.1:0");
  using client = UdpSocket.bind("127.0.0.1:0");
  let received = 0;
  runtime.blockOn(
    (function* (): Async<void> {
      const receiver = runtime.spawn(
        (function* (): Async<number> {
          const buffer = new Uint8Array(64);
          for (; received < 3; received++) yield* server.recvFrom(buffer);
          return received;
        })(),
        { name: "receiver" },
      );
      for (let count = 0; count < 3; count++) {
        yield* sleep(5); // the receiver is parked in the reactor by then
        yield* client.sendTo(new Uint8Array([count]), server.localAddress);
        while (received === count) yield* sleep(1);
      }
      yield* receiver;
    })(),
    { name: "sender" },
  );
}

function slicesByTrack(events: readonly ChromeTraceEvent[]): Map<number, ChromeTraceEvent[]> {
  const tracks = new Map<number, ChromeTraceEvent[]>();
  for (const event of events) {
    if (event.ph !== "X") continue;
    const track = tracks.get(event.tid) ?? [];
    track.push(event);
    tracks.set(event.tid, track);
  }
  for (const track of tracks.values()) track.sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!);
  return tracks;
}

/** The slices of one track that are not properly nested: each either inside the open one or after it. */
function badlyNested(track: readonly ChromeTraceEvent[]): ChromeTraceEvent[] {
  const open: ChromeTraceEvent[] = [];
  const bad: ChromeTraceEvent[] = [];
  for (const slice of track) {
    while (open.length > 0 && open.at(-1)!.ts! + open.at(-1)!.dur! <= slice.ts!) open.pop();
    const parent = open.at(-1);
    if (parent !== undefined && slice.ts! + slice.dur! > parent.ts! + parent.dur!) bad.push(slice);
    open.push(slice);
  }
  return bad;
}

function enclosing(track: readonly ChromeTraceEvent[] | undefined, ts: number): ChromeTraceEvent | undefined {
  return track?.filter((slice) => slice.ts! <= ts && ts <= slice.ts! + slice.dur!).at(-1);
}

describe.each(drivers)("trace file (%s driver)", (driver) => {
  test("has a track per task, slices that nest, and flows from an OS event to a later poll", () => {
    const path = join(tmpdir(), `bun-reactor-trace-${process.pid}-${driver}.json`);
    try {
      const file = new TraceFile(path);
      recordExchange(driver, file);
      file.write();
      const trace = JSON.parse(readFileSync(path, "utf8")) as {
        traceEvents: ChromeTraceEvent[];
        otherData: Record<string, number>;
      };
      expect(trace.otherData.droppedEvents).toBe(0);
      const events = trace.traceEvents;

      // Tracks: the reactor's, and one per task, named.
      const names = events.filter((event) => event.ph === "M").map((event) => event.args!.name);
      expect(names).toContain("reactor");
      expect(names.some((name) => /^task \d+: receiver$/.test(String(name)))).toBe(true);

      // Polls are slices of real duration, and every track's slices nest.
      const tracks = slicesByTrack(events);
      const polls = events.filter((event) => event.ph === "X" && (event.name === "poll" || event.name === "re-poll"));
      expect(polls.length).toBeGreaterThanOrEqual(6);
      for (const poll of polls) expect(poll.dur!).toBeGreaterThanOrEqual(0);
      for (const [tid, track] of tracks) expect({ tid, bad: badlyNested(track) }).toEqual({ tid, bad: [] });

      // Flows: start in an OS event's slice on the reactor's track, end in a later poll.
      const starts = events.filter((event) => event.ph === "s");
      expect(starts.length).toBeGreaterThanOrEqual(3);
      for (const start of starts) {
        expect(start.tid).toBe(0);
        expect(enclosing(tracks.get(0), start.ts!)?.name).toMatch(/^happened token \d+ read$/);
        const finish = events.find((event) => event.ph === "f" && event.id === start.id)!;
        expect(finish.ts!).toBeGreaterThan(start.ts!);
        expect(enclosing(tracks.get(finish.tid), finish.ts!)?.name).toBe("re-poll");
        const step = events.find((event) => event.ph === "t" && event.id === start.id)!;
        expect(enclosing(tracks.get(step.tid), step.ts!)?.name).toBe("scheduled (woken by reactor)");
      }
    } finally {
      rmSync(path, { force: true });
    }
  });
});

test("A trace file keeps at most maxEvents events and counts the ones it drops", () => {
  const file = new TraceFile(join(tmpdir(), "unused.json"), { maxEvents: 20 });
  recordExchange("inline", file);
  const trace = file.toJSON();
  expect(trace.traceEvents.length).toBe(20);
  expect(file.counts.dropped).toBeGreaterThan(0);
  expect(trace.otherData).toMatchObject({ maxEvents: 20, droppedEvents: file.counts.dropped });
});

test("A trace file refuses a limit that is not a whole number from 1 to 10000000", () => {
  expect(() => new TraceFile("x.json", { maxEvents: 0 })).toThrow("maxEvents 0 is not a whole number from 1 to 10000000");
  expect(() => new TraceFile("x.json", { maxEvents: 1.5 })).toThrow(RangeError);
});

test("A full trace file keeps nothing more per task: a million tasks past its limit cost no memory", () => {
  const file = new TraceFile(join(tmpdir(), "unused.json"), { maxEvents: 10 });
  const event = (kind: "spawn" | "poll" | "wake" | "pending", task: number) => traceEvent(kind, { task, detail: "reactor" });
  const feed = (from: number, count: number) => {
    for (let task = from; task < from + count; task++) {
      file.hook(event("spawn", task));
      file.hook(event("poll", task));
      file.hook(event("pending", task));
      file.hook(event("wake", task)); // woken, never polled again (cancelled): nothing ends it
    }
  };
  feed(1, 10_000); // full, and warm
  Bun.gc(true);
  const before = heapStats().heapSize;
  feed(10_001, 1_000_000);
  Bun.gc(true);
  const grownBytes = heapStats().heapSize - before;
  expect(file.counts.kept).toBe(10);
  expect(file.counts.dropped).toBeGreaterThan(4_000_000);
  // Per-task bookkeeping (names, scheduled wakes) would be tens of megabytes for a million tasks.
  expect(grownBytes).toBeLessThan(4 * 1024 * 1024);
});
