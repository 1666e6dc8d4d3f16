/**
 * Output lines written synchronously: the server's thread spends its time blocked in the
 * poller, not in Bun's event loop, so a buffered write could wait there indefinitely and a
 * script waiting for the ready line would wait with it.
 *
 * @module
 */
import { writeSync } from "node:fs";

/** Writes one line to standard output, now. */
export function out(line: string): void {
  writeSync(1, `${line}\n`);
}

/** Writes one line to standard error, now. */
export function err(line: string): void {
  writeSync(2, `${line}\n`);
}
