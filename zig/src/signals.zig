//! Signals as a readable descriptor: the self-pipe trick.
//!
//! A process-directed signal is delivered to whichever thread does not block it, and Bun runs
//! several threads, so signalfd (which needs the signal blocked in every thread) cannot be used
//! from a library. Instead a handler, run on whatever thread takes the signal, writes the
//! signal's number as one byte into a non-blocking pipe; the read end is an ordinary source for
//! the poller. write(2) is async-signal-safe, and a full pipe just drops the byte (a signal is
//! already pending then).

const std = @import("std");
const builtin = @import("builtin");
const posix = std.posix;
const sys = @import("sys.zig");

const assert = std.debug.assert;

/// The signals that may be watched: those that ask a process to stop, reload or report. The
/// synchronous ones (SIGSEGV, SIGBUS, …) and SIGKILL/SIGSTOP are never taken over.
pub const allowed_mask: u32 = bit(.HUP) | bit(.INT) | bit(.QUIT) | bit(.USR1) | bit(.USR2) |
    bit(.TERM) | bit(.WINCH);

fn bit(comptime sig: posix.SIG) u32 {
    return @as(u32, 1) << @intCast(@backingInt(sig));
}

/// The pipe's write end: -1 when no watch is open, `claimed` while one is being opened.
var write_fd = std.atomic.Value(i32).init(-1);
const claimed: i32 = -2;
var read_fd: i32 = -1;
var watched_mask: u32 = 0;
var previous: [32]posix.Sigaction = undefined;

/// Runs on whatever thread takes the signal, in the middle of any code: only async-signal-safe
/// work (signal-safety(7)), so one write(2) made directly, whatever it returns. Not `sys.write`,
/// whose errno switch may print (`sys.unexpected` in Debug builds) or panic (`sys.bug`), and
/// neither is safe here.
fn handle(sig: posix.SIG) callconv(.c) void {
    const fd = write_fd.load(.acquire);
    if (fd < 0) return;
    const byte = [1]u8{@intCast(@backingInt(sig))};
    // A full pipe already holds a pending signal; a closed one means the watch is ending.
    if (builtin.os.tag == .linux) {
        // The raw system call: no libc, so no errno to disturb.
        _ = std.os.linux.write(fd, &byte, byte.len);
    } else {
        // The handler may interrupt code that is about to read errno; leave it as it was.
        const saved_errno = std.c._errno().*;
        defer std.c._errno().* = saved_errno;
        _ = std.c.write(fd, &byte, byte.len);
    }
}

/// Starts watching the signals in `mask` (bit `n` for signal `n`) and returns the descriptor
/// to read their numbers from. One watch at a time per process: `error.Busy` while one is open.
pub fn open(mask: u32) (sys.PipeError || error{ InvalidArgument, Busy })!sys.fd_t {
    if (mask == 0 or mask & ~allowed_mask != 0) return error.InvalidArgument;
    // Claim the watch atomically (-1 → `claimed`), so that two threads cannot both open one.
    if (write_fd.cmpxchgStrong(-1, claimed, .acq_rel, .acquire) != null) return error.Busy;
    errdefer write_fd.store(-1, .release);
    const fds = try sys.pipe();
    read_fd = fds[0];
    watched_mask = mask;
    write_fd.store(fds[1], .release);
    const action = posix.Sigaction{
        .handler = .{ .handler = handle },
        .mask = posix.sigemptyset(),
        .flags = posix.SA.RESTART,
    };
    for (0..32) |signo| {
        if (mask & (@as(u32, 1) << @intCast(signo)) == 0) continue;
        posix.sigaction(@fromBackingInt(@intCast(signo)), &action, &previous[signo]);
    }
    return fds[0];
}

/// Restores the signals' previous handlers and closes the pipe. `fd` must be the descriptor
/// `open` returned (`error.BadDescriptor` otherwise).
/// A handler already running on another thread may still write its byte as the pipe closes;
/// the write then fails with EBADF, which the handler ignores. (In the window between the
/// close and that write, a descriptor reused by the process could receive one byte: closing a
/// watch is done once, at shutdown.)
pub fn close(fd: sys.fd_t) sys.CloseError!void {
    if (fd < 0 or fd != read_fd or write_fd.load(.acquire) < 0) return error.BadDescriptor;
    for (0..32) |signo| {
        if (watched_mask & (@as(u32, 1) << @intCast(signo)) == 0) continue;
        posix.sigaction(@fromBackingInt(@intCast(signo)), &previous[signo], null);
    }
    const writer = write_fd.swap(-1, .acq_rel);
    assert(writer >= 0);
    sys.close(writer) catch {};
    read_fd = -1;
    watched_mask = 0;
    return sys.close(fd);
}
