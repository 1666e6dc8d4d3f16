// The console's viewers without a server: a page that does not read misses snapshots once its
// stream holds the buffer's worth of bytes, instead of having every snapshot queued for it.
import { expect, test } from "bun:test";
import { VIEWER_BUFFER_BYTES, Viewers } from "../src/console/viewers.ts";

/** Everything a stream has queued, read until nothing more is waiting, as text. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const next = await Promise.race([reader.read(), Bun.sleep(50).then(() => null)]);
    if (next === null || next.done) break;
    text += decoder.decode(next.value, { stream: true });
  }
  reader.releaseLock();
  await stream.cancel();
  return text;
}

test("A viewer that does not read gets no more than the buffer's worth of snapshots; one that reads gets them all", async () => {
  const viewers = new Viewers(2);
  const stalled = viewers.open()!;
  // Snapshots of 100 KB: 50 of them are 5 MB, five times the buffer.
  const snapshot = (index: number) => JSON.stringify({ index, pad: "x".repeat(100_000) });
  for (let index = 0; index < 50; index++) viewers.publish(snapshot(index));

  const frames = (await drain(stalled)).split("\n\n").filter((frame) => frame.startsWith("data: {"));
  const bytes = frames.reduce((sum, frame) => sum + frame.length, 0);
  expect(frames.length).toBeGreaterThan(1);
  expect(frames.length).toBeLessThan(50);
  // At most one frame past the bound: the one that crossed it.
  expect(bytes).toBeLessThanOrEqual(VIEWER_BUFFER_BYTES + snapshot(49).length + 8);
  expect(viewers.count).toBe(0); // cancelled: no longer fed

  // A viewer that keeps up misses nothing.
  const reading = viewers.open()!;
  const reader = reading.getReader();
  await reader.read(); // the latest snapshot, sent on opening
  for (let index = 0; index < 20; index++) {
    viewers.publish(snapshot(index));
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe(`data: ${snapshot(index)}\n\n`);
  }
  await reader.cancel();
});

test("Viewers past the limit are refused, and a viewer starts with the latest snapshot", async () => {
  const viewers = new Viewers(1);
  viewers.publish('{"at":1}');
  const first = viewers.open()!;
  expect(viewers.open()).toBeNull();
  expect(viewers.latest).toBe('{"at":1}');
  expect(await drain(first)).toBe('retry: 2000\ndata: {"at":1}\n\n');
  expect(viewers.open()).not.toBeNull(); // the first one left
});
