/**
 * The console's viewers: one server-sent-event stream per page, each sent every snapshot the
 * runtime's thread posts, as long as the page keeps up.
 *
 * A page that reads too slowly misses snapshots instead of making the server buffer them: a
 * stream's queue is counted in bytes, and a snapshot is not queued for a viewer that already
 * has {@link VIEWER_BUFFER_BYTES} waiting. (A stream's default queuing strategy counts chunks,
 * not bytes: a bound of 1 MiB would then have let a million snapshots pile up.)
 *
 * @module
 */

/** A viewer whose stream holds more than this many unsent bytes misses snapshots. */
export const VIEWER_BUFFER_BYTES = 1 << 20;

const encoder = new TextEncoder();

/** Queue sizes in bytes, so that `desiredSize` is minus the bytes waiting. */
const BYTE_STRATEGY: QueuingStrategy<Uint8Array> = { highWaterMark: 0, size: (chunk) => chunk?.byteLength ?? 0 };

/**
 * The streams of the pages watching, at most `maxViewers` at once, and the latest snapshot.
 *
 * @example
 * ```ts
 * const viewers = new Viewers(8);
 * const body = viewers.open(); // null when 8 pages watch already
 * viewers.publish(JSON.stringify(snapshot)); // to every page that keeps up
 * ```
 */
export class Viewers {
  readonly maxViewers: number;
  readonly #bufferBytes: number;
  readonly #streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #latest = "null";

  /** @param bufferBytes how many unsent bytes a viewer may have before it misses snapshots. */
  constructor(maxViewers: number, bufferBytes: number = VIEWER_BUFFER_BYTES) {
    this.maxViewers = maxViewers;
    this.#bufferBytes = bufferBytes;
  }

  /** The latest snapshot (JSON text; `"null"` before the first). */
  get latest(): string {
    return this.#latest;
  }

  /** How many pages watch now. */
  get count(): number {
    return this.#streams.size;
  }

  /** Keeps `snapshot` as the latest and queues it for every viewer that is not too far behind. */
  publish(snapshot: string): void {
    this.#latest = snapshot;
    const frame = encoder.encode(`data: ${snapshot}\n\n`);
    for (const stream of this.#streams) {
      if ((stream.desiredSize ?? 0) > -this.#bufferBytes) stream.enqueue(frame);
    }
  }

  /** A new viewer's stream, starting with the latest snapshot; null if `maxViewers` watch already. */
  open(): ReadableStream<Uint8Array> | null {
    if (this.#streams.size >= this.maxViewers) return null;
    const streams = this.#streams;
    let self: ReadableStreamDefaultController<Uint8Array> | null = null;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          self = controller;
          streams.add(controller);
          controller.enqueue(encoder.encode(`retry: 2000\ndata: ${this.#latest}\n\n`));
        },
        cancel() {
          if (self !== null) streams.delete(self);
        },
      },
      BYTE_STRATEGY,
    );
  }
}
