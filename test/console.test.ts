// The live console, in a real browser: Debian's Chromium, headless, driven over the DevTools
// protocol by puppeteer-core (its own browser download is never used). The page of the compiled
// echo server is loaded while a flood runs; an embedded runtime with misbehaving tasks shows the
// warnings. A screenshot is left in test/artifacts/ (git-ignored).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { serveConsole } from "../src/console/console.ts";
import { type Async, PENDING, pollFn, yieldNow } from "../src/runtime/future.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { sleep } from "../src/runtime/timers.ts";
import { startServer } from "./e2e/server.ts";

// The page's DOM, as far as these tests read it inside the browser (the project's types have no DOM).
interface PageElement {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  querySelectorAll(selector: string): Iterable<PageElement>;
  readonly body: { readonly dataset: Record<string, string | undefined> };
};

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dir, "artifacts");

let browser: Browser;

beforeAll(async () => {
  // As root (CI), Chromium refuses to start without --no-sandbox.
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

/** Sends bursts of datagrams to `port` until stopped (at most `limitMs`). */
function flood(port: number, limitMs: number): { stop(): void } {
  const socket = createSocket("udp4");
  const payload = Buffer.alloc(64, 1);
  const started = performance.now();
  const timer = setInterval(() => {
    if (performance.now() - started > limitMs) return stop();
    for (let index = 0; index < 50; index++) socket.send(payload, port, "127.0.0.1");
  }, 2);
  socket.on("message", () => {}); // replies: read and dropped
  function stop(): void {
    clearInterval(timer);
    socket.close();
  }
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      stop();
    },
  };
}

/** The task table's row for the task named `name`: its id, state and polls. */
async function taskRow(page: Page, name: string): Promise<{ id: number; state: string; polls: number } | null> {
  return page.evaluate((wanted) => {
    for (const row of document.querySelectorAll("#tasks tr")) {
      if (row.querySelector(".name")?.textContent !== wanted) continue;
      return {
        id: Number(row.getAttribute("data-task")),
        state: row.querySelector(".state")!.textContent!,
        polls: Number(row.querySelector(".polls")!.textContent),
      };
    }
    return null;
  }, name);
}

async function updates(page: Page): Promise<number> {
  return page.evaluate(() => Number(document.body.dataset.updates ?? 0));
}

describe("the console of udp-echo, in Chromium", () => {
  test("lists the echo reader with rising polls and the socket's token and status while a flood runs", async () => {
    await using server = await startServer(["--port", "0", "--console", "0"]);
    const url = /^console: (http:\/\/\S+)$/m.exec(server.stdout())![1]!;
    const traffic = flood(server.port, 8000);
    const page = await browser.newPage();
    try {
      await page.setViewport({ width: 1280, height: 900 });
      await page.goto(url);
      await page.waitForFunction(() => Number(document.body.dataset.updates ?? 0) >= 2, { timeout: 5000 });

      // The echo reader is listed, and its poll count rises between two reads.
      await page.waitForFunction(
        () => [...document.querySelectorAll("#tasks .name")].some((cell) => cell.textContent === "echo reader"),
        { timeout: 5000 },
      );
      const first = (await taskRow(page, "echo reader"))!;
      const seen = await updates(page);
      await page.waitForFunction((count) => Number(document.body.dataset.updates) >= count + 2, { timeout: 5000 }, seen);
      const second = (await taskRow(page, "echo reader"))!;
      expect(second.id).toBe(first.id);
      expect(second.polls).toBeGreaterThan(first.polls);

      // The flow's steps have rates, and the chart's legend counts datagrams in.
      const wakeRate = await page.$eval("#step-10 .r", (cell) => cell.textContent!);
      expect(wakeRate).toMatch(/^[\d.]+ \/s$/);

      // The reactor lists the socket under its token, with its address, and the reader awaits it.
      const socket = `UdpSocket 127.0.0.1:${server.port}`;
      const entry = await page.evaluate((owner) => {
        const row = [...document.querySelectorAll("#reactor tr")].find((tr) => tr.querySelector(".owner")?.textContent === owner);
        if (row === undefined) return null;
        return {
          token: row.querySelector(".token")!.textContent,
          read: row.querySelector(".read")!.textContent,
          write: row.querySelector(".write")!.textContent,
        };
      }, socket);
      expect(entry).not.toBeNull();
      expect(entry!.token).toMatch(/^\d+$/);
      expect(entry!.read).toMatch(/^(idle|happened|awaited by task \d+)$/);
      expect(entry!.write).toMatch(/^(idle|happened|awaited by task \d+)$/);
      traffic.stop();
      await page.waitForFunction(
        (owner, reader) =>
          [...document.querySelectorAll("#reactor tr")].some(
            (tr) =>
              tr.querySelector(".owner")?.textContent === owner &&
              tr.querySelector(".read")?.textContent === `awaited by task ${reader}`,
          ),
        { timeout: 5000 },
        socket,
        first.id,
      );
      await page.screenshot({ path: join(ARTIFACTS, "console.png") });
    } finally {
      traffic.stop();
      await page.close();
    }
  }, 40_000);
});

describe("the console of an embedded runtime, in Chromium", () => {
  test("warns about a task that wakes itself forever, a lost wake and a long poll", async () => {
    await using runtime = new Runtime({ driver: "embedded" });
    using console = serveConsole(runtime, { port: 0 });
    const spinner = runtime.spawn(
      pollFn((cx) => {
        cx.waker.wake(); // ready again at once, forever: the self-wake warning
        return PENDING;
      }),
      { name: "spinner" },
    );
    const lost = runtime.spawn(
      pollFn(() => PENDING), // stores its waker nowhere: nothing will ever wake it
      { name: "forgotten" },
    );
    const slow = runtime.spawn(
      (function* (): Async<void> {
        yield* yieldNow(); // past the first poll, which may take long to compile and warm up
        const until = performance.now() + 25; // blocks every other task for 25 ms
        while (performance.now() < until);
        yield* sleep(60_000);
      })(),
      { name: "slow" },
    );
    const page = await browser.newPage();
    try {
      await page.goto(console.url);
      for (const [kind, name] of [
        ["self-wake", "spinner"],
        ["lost-wake", "forgotten"],
        ["long-poll", "slow"],
      ] as const) {
        await page.waitForFunction(
          (selector, label) => [...document.querySelectorAll(selector)].some((item) => item.textContent!.includes(label)),
          { timeout: 5000 },
          `#warnings li.${kind}`,
          `(${name})`,
        );
      }
      await page.screenshot({ path: join(ARTIFACTS, "console-warnings.png") });
    } finally {
      await page.close();
      spinner.cancel();
      lost.cancel();
      slow.cancel();
    }
  }, 30_000);

  test("refuses a viewer past the limit with 503 and a message, which the page shows, and any write with 405", async () => {
    await using runtime = new Runtime({ driver: "embedded" });
    using console = serveConsole(runtime, { port: 0, maxViewers: 1 });
    const first = await fetch(`${console.url}events`);
    expect(first.status).toBe(200);
    const reader = first.body!.getReader();
    const frame = new TextDecoder().decode((await reader.read()).value);
    expect(frame).toContain("data: ");
    const second = await fetch(`${console.url}events`);
    expect(second.status).toBe(503);
    expect(await second.text()).toContain("too many viewers (the limit is 1)");
    const write = await fetch(console.url, { method: "POST", body: "x" });
    expect(write.status).toBe(405);

    // A page opened past the limit says it was refused, instead of waiting for updates.
    const page = await browser.newPage();
    try {
      await page.goto(console.url);
      await page.waitForFunction(
        () => [...document.querySelectorAll("#status")].some((status) => status.textContent!.startsWith("refused by the server")),
        { timeout: 5000 },
      );
    } finally {
      await page.close();
    }
    await reader.cancel();
  }, 20_000);
});
