// The idle scheduling policy for JavaScriptCore's compiler threads (src/sys/thread-priority.ts)
// and the CPUs of each thread (src/sys/thread-affinity.ts), each in a subprocess of its own: its
// threads' policies and CPUs are read back from /proc.
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

/** In a script: what `call()` did, "ok" or the class and message of what it threw. */
const OUTCOME = `const outcome = (call) => {
  try {
    call();
    return "ok";
  } catch (error) {
    return error.constructor.name + ": " + error.message;
  }
};`;

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
    ${OUTCOME}
    console.log(JSON.stringify([0, -1, 1.5, 2 ** 31, 2 ** 31 - 1].map((tid) => outcome(() => setThreadIdle(tid)))));
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

test("keepThreadsOn moves every thread but those excepted, once, and setThreadCpus narrows the calling thread", async () => {
  if (process.platform !== "linux") return; // no affinity per thread elsewhere: EOPNOTSUPP, tested below
  const { stdout, stderr, code } = await runScript(`
    import { readdirSync, readFileSync } from "node:fs";
    import { currentThreadId, keepThreadsOn, setThreadCpus, threadCpus } from "./src/sys/thread-affinity.ts";
    const listed = () => readdirSync("/proc/self/task").map((tid) => ({
      tid: Number(tid),
      cpus: /^Cpus_allowed_list:\\s*(\\S+)$/m.exec(readFileSync("/proc/self/task/" + tid + "/status", "utf8"))[1],
    }));
    const allowed = threadCpus();
    const [loopCpu, ...rest] = allowed;
    const self = currentThreadId();
    setThreadCpus(0, [loopCpu]);
    const moved = keepThreadsOn(rest, new Set([self]));
    const again = keepThreadsOn(rest, new Set([self]));
    const mine = threadCpus();
    console.log(JSON.stringify({ allowed, self, pid: process.pid, mine, byId: threadCpus(self), moved, again, after: listed() }));
  `);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  const result = JSON.parse(stdout) as {
    allowed: number[];
    self: number;
    pid: number;
    mine: number[];
    byId: number[];
    moved: number;
    again: number;
    after: { tid: number; cpus: string }[];
  };
  if (result.allowed.length < 2) throw new Error(`this test needs two CPUs; it may use ${result.allowed.join(",")}`);
  expect(result.self).toBe(result.pid); // the main thread's id is the process's
  expect(result.mine).toEqual([result.allowed[0]!]);
  expect(result.byId).toEqual(result.mine);
  expect(result.moved).toBe(result.after.length - 1);
  expect(result.again).toBe(0);
  const rest = result.allowed.slice(1);
  const asList = (cpus: number[]) =>
    cpus.length === cpus.at(-1)! - cpus[0]! + 1 && cpus.length > 1 ? `${cpus[0]}-${cpus.at(-1)}` : cpus.join(",");
  for (const thread of result.after) {
    expect({ tid: thread.tid, cpus: thread.cpus }).toEqual({
      tid: thread.tid,
      cpus: asList(thread.tid === result.self ? result.mine : rest),
    });
  }
});

test("setThreadCpus and threadCpus refuse bad input before any system call, and name what the OS refused", async () => {
  const { stdout, stderr, code } = await runScript(`
    import { setThreadCpus, threadCpus } from "./src/sys/thread-affinity.ts";
    ${OUTCOME}
    console.log(JSON.stringify([
      () => setThreadCpus(0, []),
      () => setThreadCpus(0, [1024]),
      () => setThreadCpus(0, [-1]),
      () => setThreadCpus(-1, [0]),
      () => threadCpus(1.5),
      () => threadCpus(2 ** 31 - 1),
      () => setThreadCpus(0, [1023]),
    ].map(outcome)));
  `);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  const outcomes = JSON.parse(stdout) as string[];
  expect(outcomes.slice(0, 5)).toEqual([
    "RangeError: this thread needs at least one CPU to run on",
    "RangeError: CPU 1024 is not a CPU number from 0 to 1023",
    "RangeError: CPU -1 is not a CPU number from 0 to 1023",
    "RangeError: thread id -1 is not 0 (this thread) or a whole number up to 2147483647",
    "RangeError: thread id 1.5 is not 0 (this thread) or a whole number up to 2147483647",
  ]);
  const linux = process.platform === "linux";
  expect(outcomes[5]).toStartWith("SystemError: Cannot read the CPUs of thread 2147483647: ");
  expect(outcomes[5]).toContain(linux ? "ESRCH" : "EOPNOTSUPP");
  // No machine here has CPU 1023 online: none of the CPUs asked for is one the thread may use.
  expect(outcomes[6]).toStartWith("SystemError: Cannot let this thread run on CPU 1023: ");
  expect(outcomes[6]).toContain(linux ? "EINVAL" : "EOPNOTSUPP");
});
