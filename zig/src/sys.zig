//! The system-call layer: one backend per OS family, chosen here and nowhere else.
//!
//! Every function follows the Linux kernel's convention whatever the OS: it returns a
//! non-negative count, length or descriptor on success and `-errno` on failure. `EINTR` is
//! retried inside, so no caller ever sees it. The callers build the exported C ABI out of these
//! values without translating them again.
//!
//! Each backend must export the declarations listed in `contract`; the `comptime` block below
//! checks it, so a backend that forgets one fails to compile on its own OS, and the macOS
//! cross-builds in CI keep the libc backend honest on Linux machines.

const std = @import("std");
const builtin = @import("builtin");

const backend = switch (builtin.os.tag) {
    .linux => @import("sys/linux.zig"),
    .macos, .freebsd => @import("sys/libc.zig"),
    else => @compileError("bun-reactor has no system-call layer for this OS"),
};

const contract = .{
    "sockaddr",   "msghdr",  "msghdr_const", "mmsghdr",  "socket",   "close", "bind",  "getsockname", "setsockopt",
    "getsockopt", "recvmsg", "sendmsg",      "recvmmsg", "sendmmsg", "read",  "write", "pipe",        "monotonicMs",
    "errnoName",
};

comptime {
    for (contract) |name| {
        if (!@hasDecl(backend, name)) @compileError("sys backend is missing `" ++ name ++ "`");
    }
}

pub const sockaddr = backend.sockaddr;
pub const msghdr = backend.msghdr;
pub const msghdr_const = backend.msghdr_const;
pub const iovec = std.posix.iovec;
pub const iovec_const = std.posix.iovec_const;
pub const AF = std.c.AF;
pub const SOCK = std.c.SOCK;
pub const SOL = std.c.SOL;
pub const SO = std.c.SO;
pub const MSG = std.c.MSG;
pub const IPPROTO = std.c.IPPROTO;
pub const IPV6 = std.c.IPV6;
pub const E = std.c.E;
pub const mmsghdr = backend.mmsghdr;

pub const socket = backend.socket;
pub const close = backend.close;
pub const bind = backend.bind;
pub const getsockname = backend.getsockname;
pub const setsockopt = backend.setsockopt;
pub const getsockopt = backend.getsockopt;
pub const recvmsg = backend.recvmsg;
pub const sendmsg = backend.sendmsg;
pub const recvmmsg = backend.recvmmsg;
pub const sendmmsg = backend.sendmmsg;
pub const read = backend.read;
pub const write = backend.write;
pub const pipe = backend.pipe;
pub const monotonicMs = backend.monotonicMs;
pub const errnoName = backend.errnoName;

/// `-errno` for `e`, in the convention every function here returns.
pub fn fail(e: E) isize {
    return -@as(isize, @intCast(@backingInt(e)));
}

/// The errno a negative result carries, or `.SUCCESS` for a non-negative one.
pub fn errnoOf(result: isize) E {
    if (result >= 0) return .SUCCESS;
    return @fromBackingInt(@intCast(-result));
}

/// Narrows a result to the `i32` that every export returns. Results are counts bounded by the
/// caller's buffers (at most a few megabytes) or errno values, so they always fit.
pub fn narrow(result: isize) i32 {
    std.debug.assert(result >= std.math.minInt(i32) and result <= std.math.maxInt(i32));
    return @intCast(result);
}
