/**
 * Output lines written synchronously: the server's thread spends its time blocked in the
 * poller, not in Bun's event loop, so a buffered write could wait there indefinitely and a
 * script waiting for the ready line would wait with it.
 *
 * A stream whose reader has gone (`udp-echo --stats 1 | head -1`: the write fails with `EPIPE`)
 * is silenced from then on: the output is for whoever still reads it, and losing the reader
 * must never stop the server, nor turn its shutdown into a stack trace.
 *
 * @module
 */
import { writeSync } from "node:fs";

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
 * Writes one line to standard output, now; nothing once its reader has gone.
 *
 * @example
 * out("udp-echo listening on 127.0.0.1:7777 (epoll, inline reactor, 1 worker)");
 */
export function out(line: string): void {
  writeLine(1, line);
}

/**
 * Writes one line to standard error, now; nothing once its reader has gone.
 *
 * @example
 * err("udp-echo: Cannot bind UDP socket to 127.0.0.1:7777: address already in use (EADDRINUSE)");
 */
export function err(line: string): void {
  writeLine(2, line);
}
