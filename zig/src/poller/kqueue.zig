//! The kqueue backend of the poller (macOS, FreeBSD).
//!
//! Registrations use EV_CLEAR, kqueue's edge trigger, to match epoll's EPOLLET. The waker is an
//! EVFILT_USER filter on the kqueue itself, so no descriptor stands behind it (`waker_fd` is -1).
//! Read and write readiness of one descriptor arrive as two events; callers merge by token.

const std = @import("std");
const c = std.c;
const abi = @import("../abi.zig");
const sys = @import("../sys.zig");

pub const name = "kqueue";

/// EVFILT_USER identifiers live in their own namespace; this is the only one we use.
const waker_ident: usize = 0;

fn result(rc: c_int) isize {
    if (rc == -1) return sys.fail(c.errno(rc));
    return rc;
}

fn change(ident: usize, filter: anytype, flags: u16, fflags: u32, token: u64) c.Kevent {
    return .{
        .ident = ident,
        .filter = filter,
        .flags = flags,
        .fflags = fflags,
        .data = 0,
        .udata = @intCast(token),
    };
}

/// Applies changes one receipt each (EV_RECEIPT), so that every change reports its own error.
/// Errors listed in `ignored` count as success; the first other error is returned.
fn apply(kq: i32, changes: []const c.Kevent, ignored: []const sys.E) isize {
    var receipts: [2]c.Kevent = undefined;
    std.debug.assert(changes.len <= receipts.len);
    const rc = result(c.kevent(kq, changes.ptr, @intCast(changes.len), &receipts, @intCast(changes.len), null));
    if (rc < 0) return rc;
    var applied: usize = 0;
    for (receipts[0..@intCast(rc)]) |receipt| {
        std.debug.assert(receipt.flags & c.EV.ERROR != 0);
        if (receipt.data == 0) {
            applied += 1;
            continue;
        }
        const e = std.enums.fromInt(sys.E, receipt.data) orelse return sys.fail(.INVAL);
        if (std.mem.indexOfScalar(sys.E, ignored, e) == null) return sys.fail(e);
    }
    return @intCast(applied);
}

pub fn open(poller: *abi.Poller) isize {
    const kq = result(c.kqueue());
    if (kq < 0) return kq;
    const fd: i32 = @intCast(kq);
    const cloexec = result(c.fcntl(fd, c.F.SETFD, @as(c_int, c.FD_CLOEXEC)));
    const waker = change(waker_ident, c.EVFILT.USER, c.EV.ADD | c.EV.CLEAR | c.EV.RECEIPT, 0, abi.token_waker);
    const added = if (cloexec < 0) cloexec else apply(fd, &.{waker}, &.{});
    if (added < 0) {
        _ = sys.close(fd);
        return added;
    }
    poller.* = .{ .fd = fd, .waker_fd = -1 };
    return 0;
}

pub fn close(poller: abi.Poller) isize {
    return sys.close(poller.fd);
}

fn filters(fd: i32, token: u64, interest: u32, add: u16, remove: u16) [2]c.Kevent {
    const ident: usize = @intCast(fd);
    const read_flags = if (interest & abi.interest_readable != 0) add else remove;
    const write_flags = if (interest & abi.interest_writable != 0) add else remove;
    return .{
        change(ident, c.EVFILT.READ, read_flags | c.EV.RECEIPT, 0, token),
        change(ident, c.EVFILT.WRITE, write_flags | c.EV.RECEIPT, 0, token),
    };
}

pub fn register(poller: abi.Poller, fd: i32, token: u64, interest: u32) isize {
    return reregister(poller, fd, token, interest);
}

/// Adds the filters the interest names and deletes the others (ENOENT: it was not there).
pub fn reregister(poller: abi.Poller, fd: i32, token: u64, interest: u32) isize {
    if (fd < 0) return sys.fail(.BADF);
    const changes = filters(fd, token, interest, c.EV.ADD | c.EV.CLEAR, c.EV.DELETE);
    const rc = apply(poller.fd, &changes, &.{.NOENT});
    return if (rc < 0) rc else 0;
}

/// Deletes both filters; ENOENT only if neither was registered.
pub fn deregister(poller: abi.Poller, fd: i32) isize {
    if (fd < 0) return sys.fail(.BADF);
    const changes = filters(fd, 0, 0, c.EV.DELETE, c.EV.DELETE);
    const rc = apply(poller.fd, &changes, &.{.NOENT});
    if (rc < 0) return rc;
    return if (rc == 0) sys.fail(.NOENT) else 0;
}

pub fn wait(poller: abi.Poller, events: []abi.Event, timeout_ms: i32) isize {
    std.debug.assert(events.len > 0 and events.len <= abi.events_max);
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
        if (rc >= 0) break @intCast(rc);
        switch (c.errno(rc)) {
            .INTR => if (timeout_ms >= 0) {
                const left = deadline_ms - sys.monotonicMs();
                timeout_left_ms = @intCast(std.math.clamp(left, 0, timeout_ms));
            },
            else => |e| return sys.fail(e),
        }
    };
    for (raw[0..count], events[0..count]) |source, *event| {
        event.* = .{ .token = @intCast(source.udata), .flags = eventFlags(source) };
    }
    return @intCast(count);
}

fn eventFlags(source: c.Kevent) u32 {
    var flags: u32 = 0;
    if (source.filter == c.EVFILT.READ or source.filter == c.EVFILT.USER) flags |= abi.event_readable;
    if (source.filter == c.EVFILT.WRITE) flags |= abi.event_writable;
    if (source.flags & c.EV.ERROR != 0) flags |= abi.event_error;
    if (source.flags & c.EV.EOF != 0) flags |= abi.event_hangup;
    return flags;
}

pub fn wake(poller: abi.Poller) isize {
    const trigger = change(waker_ident, c.EVFILT.USER, c.EV.RECEIPT, c.NOTE.TRIGGER, abi.token_waker);
    const rc = apply(poller.fd, &.{trigger}, &.{});
    return if (rc < 0) rc else 0;
}
