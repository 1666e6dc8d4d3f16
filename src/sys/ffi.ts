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
import { dlopen, read } from "bun:ffi";
import { closeSync, readFileSync, writeSync } from "node:fs";
import { basename } from "node:path";
import { getSystemErrorName } from "node:util";
import { libraryEmbedded, libraryPath } from "./locations.ts";

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
  br_thread_cpu_ns: { args: [buffer, length], returns: i32 },
  br_thread_set_idle: { args: [i32], returns: i32 },
  br_thread_id: { args: [], returns: i32 },
  br_thread_cpus: { args: [i32, buffer, length], returns: i32 },
  br_thread_set_cpus: { args: [i32, buffer, length], returns: i32 },
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
  br_udp_enable_offload: { args: [i32], returns: i32 },
  br_udp_kernel_drops: { args: [i32], returns: i32 },
  br_udp_enable_error_queue: { args: [i32, u32], returns: i32 },
  br_udp_recv_error: { args: [i32, buffer, length], returns: i32 },
  br_udp_set_datagram_info: { args: [i32, u32], returns: i32 },
  br_udp_get_datagram_info: { args: [i32], returns: i32 },
  br_udp_recv_from_info: { args: [i32, buffer, length, buffer, length, buffer, length], returns: i32 },
  br_udp_send_to_info: { args: [i32, buffer, length, buffer, length, buffer, length], returns: i32 },
  br_udp_recv_batch_info: { args: [i32, buffer, length, u32, buffer, length, buffer, length], returns: i32 },
  br_udp_send_batch_info: { args: [i32, buffer, length, u32, buffer, length, buffer, length], returns: i32 },
  br_socket_kind: { args: [i32], returns: i32 },
  br_descriptor_adopt: { args: [i32], returns: i32 },
  br_udp_connect: { args: [i32, buffer, length], returns: i32 },
  br_udp_disconnect: { args: [i32, buffer, length], returns: i32 },
  br_udp_peer_address: { args: [i32, buffer, length], returns: i32 },
  br_udp_send: { args: [i32, buffer, length], returns: i32 },
  br_udp_set_ip_option: { args: [i32, u32, u32, i32], returns: i32 },
  br_udp_get_ip_option: { args: [i32, u32, u32], returns: i32 },
  br_udp_membership: { args: [i32, u32, buffer, length], returns: i32 },
  br_udp_set_multicast_interface: { args: [i32, u32, u32], returns: i32 },
  br_interface_index: { args: [buffer, length], returns: i32 },
  br_close: { args: [i32], returns: i32 },
  br_read: { args: [i32, buffer, length], returns: i32 },
  br_signals_open: { args: [u32], returns: i32 },
  br_signals_close: { args: [i32], returns: i32 },
  br_fault_configure: { args: [u64, u32], returns: i32 },
  br_fault_count: { args: [u32, u32], returns: i32 },
  br_fault_refuse_segmented: { args: [u32], returns: i32 },
} as const;

/** `memfd_create`'s `MFD_CLOEXEC`: the anonymous file is not inherited by programs we start. */
const MFD_CLOEXEC = 1;

/** The C library's names to find `memfd_create` in: glibc, then musl. */
const libcNames = ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`];

/**
 * Loads the library embedded in an executable from an anonymous memory file (`memfd_create`,
 * Linux): Bun extracts embedded libraries into `TMPDIR`, which may not exist or may be read-only
 * (a hardened server's read-only root). The bytes never touch a file system.
 */
function openFromMemory(): ReturnType<typeof dlopen<typeof symbols>> {
  const bytes = readFileSync(libraryPath);
  let lastError: unknown = null;
  for (const name of libcNames) {
    let libc;
    try {
      libc = dlopen(name, {
        memfd_create: { args: ["buffer", "u32"], returns: "i32" },
        __errno_location: { args: [], returns: "ptr" },
      });
    } catch (error) {
      lastError = error;
      continue;
    }
    const fd = libc.symbols.memfd_create(Buffer.from("libbun_reactor\0"), MFD_CLOEXEC);
    // Read on this thread right after the call, before anything else can set errno.
    const errno = fd < 0 ? read.i32(libc.symbols.__errno_location()!, 0) : 0;
    libc.close();
    if (fd < 0) throw new Error(`memfd_create failed: ${getSystemErrorName(-errno)}`);
    try {
      for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written);
      return dlopen(`/proc/self/fd/${fd}`, symbols);
    } finally {
      // The loaded library keeps its own mapping; the descriptor is no longer needed.
      closeSync(fd);
    }
  }
  throw lastError;
}

/**
 * The executable has no caller to throw to: it says in one line what failed and what to
 * change, and exits 1, instead of a page of minified source and a stack trace.
 */
function exitUnloadable(first: unknown, second: unknown): never {
  const reason = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0];
  const program = basename(process.execPath);
  writeSync(
    2,
    `${program}: cannot load its native library: extracting it into TMPDIR (${process.env.TMPDIR ?? "/tmp"}) ` +
      `failed (${reason(first)}), and so did loading it from memory (${reason(second)}); ` +
      "set TMPDIR to a writable directory.\n",
  );
  process.exit(1);
}

function open() {
  try {
    return dlopen(libraryPath, symbols);
  } catch (cause) {
    if (libraryEmbedded) {
      try {
        return openFromMemory();
      } catch (second) {
        exitUnloadable(cause, second);
      }
    }
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
