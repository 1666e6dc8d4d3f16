/**
 * Output lines written synchronously: the server's thread spends its time blocked in the
 * poller, not in Bun's event loop, so a buffered write could wait there indefinitely and a
 * script waiting for the ready line would wait with it.
 *
 * A stream whose reader has gone (`udp-echo --stats 1 | head -1`: the write fails with `EPIPE`)
 * is silenced from then on: the output is for whoever still reads it, and losing the reader
 * must never stop the server, nor turn its shutdown into a stack trace.
 *
 * With `--log-format json` every line is one JSON object instead, for journald and log shippers,
 * with stable keys: `time` (ISO 8601), `level` (`info`, `warning`, `error`), `event` (`ready`,
 * `stats`, `totals`, … or `message`), `message` (the text line, unchanged), then the event's
 * own fields (counters as numbers).
 *
 * @module
 */
import { writeSync } from "node:fs";

/** How lines are written: `--log-format`. */
export type LogFormat = "text" | "json";

let format: LogFormat = "text";

/**
 * Sets how lines are written from now on, on this thread (each worker thread sets its own).
 *
 * @example
 * setLogFormat("json");
 */
export function setLogFormat(next: LogFormat): void {
  format = next;
}

/** What a line is, for `--log-format json`: its event name and its own fields. */
export interface LineFields {
  readonly event: string;
  readonly [field: string]: unknown;
}

function render(line: string, level: "info" | "warning" | "error", fields: LineFields | undefined): string {
  if (format === "text") return line;
  const { event, ...rest } = fields ?? { event: level === "info" ? "message" : level };
  return JSON.stringify({ time: new Date().toISOString(), level, event, message: line, ...rest });
}

/** Streams whose reader has gone, by descriptor: nothing more is written to them. */
const silenced = new Set<number>();

function writeLine(fd: 1 | 2, line: string): void {
  if (silenced.has(fd)) return;
  try {
    writeSync(fd, `${line}\n`);
  } catch (error) {
    // EPIPE: the reader closed its end. EBADF: the stream was closed before we started.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EPIPE" && code !== "EBADF") throw error;
    silenced.add(fd);
  }
}

/**
 * Writes one line to standard output, now; nothing once its reader has gone. `fields` name the
 * event and carry its figures for `--log-format json`.
 *
 * @example
 * out("udp-echo listening on 127.0.0.1:7777 (epoll, inline reactor, 1 worker)", { event: "ready" });
 */
export function out(line: string, fields?: LineFields): void {
  writeLine(1, render(line, "info", fields));
}

/**
 * Writes one line to standard error, now; nothing once its reader has gone. A line that says
 * `warning:` is a warning, any other an error.
 *
 * @example
 * err("udp-echo: Cannot bind UDP socket to 127.0.0.1:7777: address already in use (EADDRINUSE)");
 */
export function err(line: string, fields?: LineFields): void {
  writeLine(2, render(line, /\bwarning: /.test(line) ? "warning" : "error", fields));
}
