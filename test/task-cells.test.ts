// What a task costs on the heap, measured in a subprocess (test/fixtures/task-cells.ts) after
// full collections: the folds that made a task one object (its own context, waker, generator
// driver and join handle) and the field counts that keep it in JavaScriptCore's 112-byte size
// class must not come undone unnoticed. Sizes are allocation sizes, not timings.
import { expect, test } from "bun:test";
import { join } from "node:path";

interface Cells {
  spawned: { objects: number; bytes: number };
  sleeping: { objects: number; bytes: number };
  cells: { task: number; sleep: number };
}

function measure(): Cells {
  const result = Bun.spawnSync([process.execPath, join(import.meta.dir, "fixtures", "task-cells.ts")], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (result.exitCode !== 0) throw new Error(`the fixture failed (${result.exitCode}):\n${result.stderr.toString()}`);
  return JSON.parse(result.stdout.toString()) as Cells;
}

test("a task costs one heap object, which is also its join handle, in the 112-byte size class; a sleep is 64 bytes", () => {
  const { spawned, sleeping, cells } = measure();
  console.log(
    `per task: spawned ${JSON.stringify(spawned)}, sleeping ${JSON.stringify(sleeping)}; cells ${JSON.stringify(cells)}`,
  );
  // A spawned future: the task alone (a separate join handle was a second object).
  expect(spawned.objects).toBeGreaterThanOrEqual(1);
  expect(spawned.objects).toBeLessThan(1.2);
  // A task sleeping in a generator: the task, its Sleep, and the generator's own cells
  // (generator, function, scope): five, where there were twelve before bench/runtime.ts's profile.
  expect(sleeping.objects).toBeLessThan(5.2);
  // One field more on a task would put it in the 160-byte class (see the Task class's comment).
  expect(cells.task).toBeLessThanOrEqual(112);
  // A sleep has six fields (its wheel is its slot's): a seventh would put it in the 80-byte class.
  expect(cells.sleep).toBeLessThanOrEqual(64);
}, 60_000);
