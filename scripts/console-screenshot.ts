/**
 * Takes docs/cli.md's picture of the console (`docs/console.png`): builds `dist/udp-echo`, runs it
 * with `--console`, sends it a few seconds of datagrams with a send error or two among them, and
 * photographs the page in Debian's Chromium (headless, through puppeteer-core).
 *
 * Usage: `bun scripts/console-screenshot.ts [--chromium PATH]`
 *
 * @module
 */
import { createSocket } from "node:dgram";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import puppeteer from "puppeteer-core";
import { buildExecutable, buildNative, executable } from "./build.ts";

const root = resolve(import.meta.dir, "..");
const { values } = parseArgs({ options: { chromium: { type: "string" } } });

buildNative();
await buildExecutable();
const server = Bun.spawn([executable, "--port", "0", "--console", "0"], { stdout: "pipe", stderr: "inherit" });
let output = "";
const reader = server.stdout.getReader();
while (!/listening on [^ ]+:(\d+)/.test(output)) output += new TextDecoder().decode((await reader.read()).value);
const port = Number(/listening on [^ ]+:(\d+)/.exec(output)![1]);
const url = /^console: (\S+)$/m.exec(output)![1]!;

const client = createSocket("udp4");
client.on("message", () => {});
const sending = setInterval(() => {
  for (let index = 0; index < 40; index++) client.send(Buffer.alloc(64 + index * 20, 7), port, "127.0.0.1");
}, 5);

const browser = await puppeteer.launch({
  executablePath: values.chromium ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 820 });
  await page.goto(url);
  await Bun.sleep(8000); // a few points on the last minute's charts
  const path = join(root, "docs", "console.png");
  await page.screenshot({ path });
  console.log(`wrote ${path}`);
} finally {
  clearInterval(sending);
  client.close();
  await browser.close();
  server.kill("SIGTERM");
  await server.exited;
}
