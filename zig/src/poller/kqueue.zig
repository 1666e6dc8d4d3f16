//! The kqueue backend of the poller (macOS, FreeBSD). Only cross-compiled on Linux machines.
//!
//! Registrations use EV_CLEAR, kqueue's edge trigger, to match epoll's EPOLLET. The waker is an
//! EVFILT_USER filter on the kqueue itself, so no descriptor stands behind it (`waker_fd` is -1).
//! Read and write readiness of one descriptor arrive as two events; callers merge by token.
//!
//! kqueue's EV_ADD on a filter that exists silently updates it, where epoll's EPOLL_CTL_ADD
//! fails with EEXIST and EPOLL_CTL_MOD on nothing fails with ENOENT. To fail the same way,
//! `register` and `reregister` first ask whether the descriptor has a filter, with an
//! EV_ENABLE change: it fails with ENOENT for a filter that is not there, and is a no-op for
//! one that is (registrations are never disabled). FreeBSD keeps the filter's token through
//! that probe (EV_KEEPUDATA); macOS has no such flag, so a refused second `register` leaves the
//! descriptor registered under the refused call's token there.

const std = @import("std");
const builtin = @import("builtin");
const c = std.c;
const abi = @import("../abi.zig");
const sys = @import("../sys.zig");
const poller_api = @import("../poller.zig");

const assert = std.debug.assert;
const unexpected = sys.unexpected;

pub const name: []const u8 = "kqueue";

/// EVFILT_USER identifiers live in their own namespace; this is the only one we use.
const waker_ident: usize = 0;

const keep_udata: u16 = if (builtin.os.tag == .freebsd) c.EV.KEEPUDATA else 0;

fn change(ident: usize, filter: anytype, flags: u16, fflags: u32, token: u64) c.Kevent {
    return .{
        .ident = ident,
        .filter = filter,
        .flags = flags | c.EV.RECEIPT,
        .fflags = fflags,
        .data = 0,
        .udata = @intCast(token),
    };
}

/// The errno of kevent(2), whether returned by the call or carried by a change's receipt.
fn kevError(e: c.E) poller_api.ControlError {
    return switch (e) {
        // The call's own EINTR is retried by `apply`, and a receipt's 0 counts as found there;
        // but a receipt's errno is whatever the kernel wrote, so these are unforeseen, not
        // unreachable.
        .SUCCESS, .INTR => unexpected(e),
        .BADF => error.BadDescriptor,
        .INVAL => error.InvalidArgument,
        .NOENT => error.NotRegistered,
        .NOMEM => error.SystemResources,
        .ACCES => error.PermissionDenied,
        .FAULT, .SRCH => sys.bug(@src(), e), // the library's own memory; no process filters
        else => unexpected(e),
    };
}

/// Applies changes one receipt each (EV_RECEIPT), so that every change reports its own error.
/// Returns how many changes found their filter; `error.NotRegistered` (ENOENT) counts as not
/// found, any other error is returned.
fn apply(kq: sys.fd_t, changes: []const c.Kevent) poller_api.ControlError!usize {
    var receipts: [2]c.Kevent = undefined;
    assert(changes.len > 0 and changes.len <= receipts.len);
    const received: usize = while (true) {
        const rc = c.kevent(kq, changes.ptr, @intCast(changes.len), &receipts, @intCast(changes.len), null);
        switch (c.errno(rc)) {
            .SUCCESS => break @intCast(rc),
            .INTR => continue, // each change is idempotent: applying it again is harmless
            else => |e| return kevError(e),
        }
    };
    // With EV_RECEIPT every change comes back, marked EV_ERROR, with its errno (0 if applied).
    sys.checkKernel(received == changes.len, @src(), "kevent");
    var found: usize = 0;
    for (receipts[0..received]) |receipt| {
        sys.checkKernel(receipt.flags & c.EV.ERROR != 0, @src(), "kevent");
        if (receipt.data == 0) {
            found += 1;
            continue;
        }
        const e = std.enums.fromInt(c.E, receipt.data) orelse return error.Unexpected;
        if (e != .NOENT) return kevError(e);
    }
    return found;
}

pub fn open() poller_api.OpenError!abi.Poller {
    const kq = c.kqueue();
    switch (c.errno(kq)) {
        .SUCCESS => {},
        .MFILE => return error.ProcessFdQuotaExceeded,
        .NFILE => return error.SystemFdQuotaExceeded,
        .NOMEM => return error.SystemResources,
        else => |e| return unexpected(e),
    }
    errdefer sys.close(kq) catch {};
    const cloexec = c.fcntl(kq, c.F.SETFD, @as(c_int, c.FD_CLOEXEC));
    if (cloexec == -1) return unexpected(c.errno(cloexec));
    const waker = change(waker_ident, c.EVFILT.USER, c.EV.ADD | c.EV.CLEAR, 0, abi.token_waker);
    const added = apply(kq, &.{waker}) catch |err| switch (err) {
        error.SystemResources, error.Unexpected => |e| return e,
        else => sys.bug(@src(), err), // a fresh kqueue and a user filter
    };
    sys.checkKernel(added == 1, @src(), "kevent");
    return .{ .fd = kq, .waker_fd = -1 };
}

pub fn close(poller: abi.Poller) sys.CloseError!void {
    // The handle comes back from the caller: one that `open` did not make is refused.
    if (poller.waker_fd != -1) return error.BadDescriptor;
    return sys.close(poller.fd);
}

fn filters(fd: sys.fd_t, token: u64, interest: u32, add: u16, remove: u16) [2]c.Kevent {
    const ident: usize = @intCast(fd);
    const read_flags = if (interest & abi.interest_readable != 0) add else remove;
    const write_flags = if (interest & abi.interest_writable != 0) add else remove;
    return .{
        change(ident, c.EVFILT.READ, read_flags, 0, token),
        change(ident, c.EVFILT.WRITE, write_flags, 0, token),
    };
}

/// Whether `fd` has a filter on this kqueue (see the file's header for why this probe).
fn registered(poller: abi.Poller, fd: sys.fd_t, token: u64) poller_api.ControlError!bool {
    const probes = filters(fd, token, abi.interest_all, c.EV.ENABLE | keep_udata, 0);
    return try apply(poller.fd, &probes) > 0;
}

/// Adds the filters the interest names and deletes the others (ENOENT: it was not there).
fn update(poller: abi.Poller, fd: sys.fd_t, token: u64, interest: u32) poller_api.ControlError!void {
    assert(poller_api.validInterest(interest));
    assert(token != abi.token_waker);
    const changes = filters(fd, token, interest, c.EV.ADD | c.EV.CLEAR, c.EV.DELETE);
    const found = try apply(poller.fd, &changes);
    sys.checkKernel(found >= 1, @src(), "kevent"); // the filters the interest names were added
}

pub fn register(poller: abi.Poller, fd: sys.fd_t, token: u64, interest: u32) poller_api.ControlError!void {
    if (fd < 0) return error.BadDescriptor;
    if (try registered(poller, fd, token)) return error.AlreadyRegistered;
    return update(poller, fd, token, interest);
}

pub fn reregister(poller: abi.Poller, fd: sys.fd_t, token: u64, interest: u32) poller_api.ControlError!void {
    if (fd < 0) return error.BadDescriptor;
    if (!try registered(poller, fd, token)) return error.NotRegistered;
    return update(poller, fd, token, interest);
}

/// Deletes both filters; `error.NotRegistered` only if neither was there.
pub fn deregister(poller: abi.Poller, fd: sys.fd_t) poller_api.ControlError!void {
    if (fd < 0) return error.BadDescriptor;
    const changes = filters(fd, 0, 0, c.EV.DELETE, c.EV.DELETE);
    if (try apply(poller.fd, &changes) == 0) return error.NotRegistered;
}

pub fn wait(poller: abi.Poller, events: []abi.Event, timeout_ms: i32) poller_api.WaitError!usize {
    assert(events.len > 0 and events.len <= abi.events_max);
    var raw: [abi.events_max]c.Kevent = undefined;
    const no_changes = [0]c.Kevent{};
    const deadline_ms = sys.monotonicMs() + timeout_ms;
    var timeout_left_ms = timeout_ms;
    const count: usize = while (true) {
        var timeout: c.timespec = .{
            .sec = @divTrunc(timeout_left_ms, 1000),
            .nsec = @rem(timeout_left_ms, 1000) * std.time.ns_per_ms,
        };
        const rc = c.kevent(poller.fd, &no_changes, 0, &raw, @intCast(events.len), if (timeout_ms < 0) null else &timeout);
        switch (c.errno(rc)) {
            .SUCCESS => break @intCast(rc),
            .INTR => if (timeout_ms >= 0) {
                const left = deadline_ms - sys.monotonicMs();
                timeout_left_ms = @intCast(std.math.clamp(left, 0, timeout_ms));
            },
            .BADF => return error.BadDescriptor,
            .INVAL => return error.InvalidArgument,
            .FAULT => |e| sys.bug(@src(), e), // `raw` is the library's own memory
            else => |e| return unexpected(e),
        }
    };
    sys.checkKernel(count <= events.len, @src(), "kevent");
    for (raw[0..count], events[0..count]) |source, *event| {
        event.* = .{ .token = @intCast(source.udata), .flags = eventFlags(source) };
    }
    return count;
}

fn eventFlags(source: c.Kevent) u32 {
    var flags: u32 = 0;
    if (source.filter == c.EVFILT.READ or source.filter == c.EVFILT.USER) flags |= abi.event_readable;
    if (source.filter == c.EVFILT.WRITE) flags |= abi.event_writable;
    if (source.flags & c.EV.ERROR != 0) flags |= abi.event_error;
    if (source.flags & c.EV.EOF != 0) flags |= abi.event_hangup;
    return flags;
}

pub fn wake(poller: abi.Poller) poller_api.WakeError!void {
    const trigger = change(waker_ident, c.EVFILT.USER, 0, c.NOTE.TRIGGER, abi.token_waker);
    const found = apply(poller.fd, &.{trigger}) catch |err| switch (err) {
        error.BadDescriptor, error.Unexpected => |e| return e,
        else => return error.Unexpected,
    };
    sys.checkKernel(found == 1, @src(), "kevent");
}
