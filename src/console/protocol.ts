/**
 * What the runtime's thread gives the console's server thread (its handshake, the status both
 * share, is `server-thread/handshake.ts`).
 *
 * @module
 */
import type { ServerThreadData } from "../server-thread/handshake.ts";

/** What the runtime's thread gives the server thread. */
export interface ConsoleServerData extends ServerThreadData {
  readonly host: string;
  readonly port: number;
  readonly maxViewers: number;
}
