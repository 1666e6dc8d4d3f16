/**
 * What the runtime's thread and the console's server thread share: the data the server thread
 * starts with, and the words in shared memory through which it says whether it listens.
 *
 * @module
 */

/** What the runtime's thread gives the server thread. */
export interface ConsoleServerData {
  readonly host: string;
  readonly port: number;
  readonly maxViewers: number;
  /**
   * `Int32Array` over it: [0] 0 starting, 1 listening, 2 failed; [1] the port; [2] the length
   * of the error message in bytes from offset 16.
   */
  readonly status: SharedArrayBuffer;
}

/** Server states in `status[0]`. */
export const ServerState = { starting: 0, listening: 1, failed: 2 } as const;

/** Bytes of `status`: the three numbers, then room for an error message. */
export const STATUS_BYTES = 16 + 1024;
