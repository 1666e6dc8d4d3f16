// The idle scheduling policy for JavaScriptCore's compiler threads (src/sys/thread-priority.ts),
// in a subprocess of its own: its threads' policies are read back from /proc.
import { expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { idleCompilerThreads } from "../src/sys/thread-priority.ts";

const root = join(import.meta.dir, "..");

/** Runs `script` as a file (code given with `bun -e` is never handed to the compiler threads). */
async function runScript(script: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const path = join(tmpdir(), `thread-priority-${process.pid}-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(path, script.replaceAll("./src/", `${root}/src/`));
  try {
    const child = Bun.spawn([process.execPath, path], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { stdout, stderr, code };
  } finally {
    rmSync(path, { force: true });
  }
}

test("idleCompilerThreads gives each JITWorker thread SCHED_IDLE, once, and leaves the other threads alone", async () => {
  // Elsewhere there is no /proc to find them in, nor the policy: it changes nothing.
  if (process.platform !== "linux") return void expect(idleCompilerThreads()).toBe(0);
  const { stdout, stderr, code } = await runScript(`
      import { readdirSync, readFileSync } from "node:fs";
      import { idleCompilerThreads } from "./src/sys/thread-priority.ts";
      const threads = () => readdirSync("/proc/self/task").map((tid) => {
        const stat = readFileSync("/proc/self/task/" + tid + "/stat", "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return { tid: Number(tid), name: readFileSync("/proc/self/task/" + tid + "/comm", "utf8").trim(), policy: Number(fields[38]) };
      });
      // Hot code, new functions again and again, until the engine has started a compiler thread.
      let sum = 0;
      const deadline = Date.now() + 20000;
      for (let k = 0; !threads().some((t) => t.name.startsWith("JITWorker")) && Date.now() < deadline; k++) {
        const hot = new Function("n", "let s = " + k + "; for (let i = 0; i < n; i++) s += (i * " + (k + 1) + ") % 7; return s;");
        for (let j = 0; j < 200; j++) sum += hot(10000);
      }
      const before = threads();
      const changed = idleCompilerThreads();
      const again = idleCompilerThreads();
      console.log(JSON.stringify({ before, changed, again, after: threads(), sum: sum > 0 }));
    `);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  const result = JSON.parse(stdout) as {
    before: { tid: number; name: string; policy: number }[];
    changed: number;
    again: number;
    after: { tid: number; name: string; policy: number }[];
  };
  const compilers = result.before.filter((thread) => thread.name.startsWith("JITWorker"));
  expect(compilers.length).toBeGreaterThan(0);
  expect(compilers.every((thread) => thread.policy === 0)).toBe(true); // SCHED_OTHER before
  expect(result.changed).toBe(compilers.length);
  expect(result.again).toBe(0);
  for (const thread of result.after) {
    const wasCompiler = compilers.some((compiler) => compiler.tid === thread.tid);
    // 5: SCHED_IDLE, 0: SCHED_OTHER.
    expect({ name: thread.name, policy: thread.policy }).toEqual({ name: thread.name, policy: wasCompiler ? 5 : 0 });
  }
});

test("setThreadIdle refuses what is not a thread id before any system call, and names a thread that does not exist", async () => {
  const { stdout, stderr, code } = await runScript(`
    import { setThreadIdle } from "./src/sys/thread-priority.ts";
    const outcome = (tid) => {
      try {
        setThreadIdle(tid);
        return "ok";
      } catch (error) {
        return error.constructor.name + ": " + error.message;
      }
    };
    console.log(JSON.stringify([0, -1, 1.5, 2 ** 31, 2 ** 31 - 1].map(outcome)));
  `);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  const outcomes = JSON.parse(stdout) as string[];
  expect(outcomes.slice(0, 4)).toEqual([
    "RangeError: thread id 0 is not a whole number from 1 to 2147483647",
    "RangeError: thread id -1 is not a whole number from 1 to 2147483647",
    "RangeError: thread id 1.5 is not a whole number from 1 to 2147483647",
    "RangeError: thread id 2147483648 is not a whole number from 1 to 2147483647",
  ]);
  // No thread has the largest id: Linux says ESRCH; macOS and FreeBSD have no such policy.
  expect(outcomes[4]).toStartWith("SystemError: Cannot give thread 2147483647 the idle scheduling policy");
  expect(outcomes[4]).toContain(process.platform === "linux" ? "ESRCH" : "EOPNOTSUPP");
});
