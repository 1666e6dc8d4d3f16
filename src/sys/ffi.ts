/**
 * The binding to libbun_reactor: the one module that imports `bun:ffi`.
 *
 * Every pointer argument is a typed array passed as `buffer`, followed by its `buffer_length`,
 * which the engine reads off the same array, so the library checks every access against the
 * real size of the memory. Every function returns `>= 0` on success and `-errno` on failure;
 * the modules beside this one turn those into values and {@link SystemError}s, so nothing
 * outside `src/sys/` ever sees a raw result.
 *
 * @module
 */
import { dlopen } from "bun:ffi";
import { libraryPath } from "./locations.ts";

// By name: in Bun 1.4.4 `FFIType.buffer_length` as a number is refused ("invalid ABI type").
const buffer = "buffer";
const length = "buffer_length";
const i32 = "i32";
const u32 = "u32";
const u64 = "u64";

const symbols = {
  br_abi_layout: { args: [buffer, length], returns: i32 },
  br_abi_constants: { args: [buffer, length], returns: i32 },
  br_errno_name: { args: [i32, buffer, length], returns: i32 },
  br_poller_backend: { args: [buffer, length], returns: i32 },
  br_poller_open: { args: [buffer, length], returns: i32 },
  br_poller_close: { args: [buffer, length], returns: i32 },
  br_poller_register: { args: [buffer, length, i32, u64, u32], returns: i32 },
  br_poller_reregister: { args: [buffer, length, i32, u64, u32], returns: i32 },
  br_poller_deregister: { args: [buffer, length, i32], returns: i32 },
  br_poller_wait: { args: [buffer, length, buffer, length, i32], returns: i32 },
  br_poller_wake: { args: [buffer, length], returns: i32 },
  br_udp_open: { args: [u32], returns: i32 },
  br_udp_set_option: { args: [i32, u32, i32], returns: i32 },
  br_udp_get_option: { args: [i32, u32], returns: i32 },
  br_udp_bind: { args: [i32, buffer, length], returns: i32 },
  br_udp_local_address: { args: [i32, buffer, length], returns: i32 },
  br_udp_recv_from: { args: [i32, buffer, length, buffer, length], returns: i32 },
  br_udp_send_to: { args: [i32, buffer, length, buffer, length], returns: i32 },
  br_udp_recv_batch: { args: [i32, buffer, length, u32, buffer, length], returns: i32 },
  br_udp_send_batch: { args: [i32, buffer, length, u32, buffer, length], returns: i32 },
  br_close: { args: [i32], returns: i32 },
  br_read: { args: [i32, buffer, length], returns: i32 },
  br_signals_open: { args: [u32], returns: i32 },
  br_signals_close: { args: [i32], returns: i32 },
} as const;

function open() {
  try {
    return dlopen(libraryPath, symbols);
  } catch (cause) {
    throw new Error(
      `Cannot load the bun-reactor native library from ${libraryPath}: ${String(cause)}. ` +
        "Build it with `bun run build` (or set BUN_REACTOR_LIB to its path).",
      { cause },
    );
  }
}

/**
 * The library's functions. A pointer argument is given twice, as the array and as its length:
 * `native.br_udp_bind(fd, address, address)`.
 */
export const native = open().symbols;

/** The path the library was loaded from. */
export const nativeLibraryPath: string = libraryPath;
